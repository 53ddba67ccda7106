import ChatBridge
import Hummingbird

/// Messages shown when a conversation opens: the caller's own and everyone's.
struct WelcomeMessagesController {
    let chats: any ChatStore
    let accounts: any AccountStore

    struct MessageList: ResponseEncodable {
        var welcomeMessages: [WelcomeMessageRepresentation]
    }

    struct CreateRequest: Decodable {
        var userMessage: String?
        var response: String
        var orderIndex: Int?
        /// Left out: the caller (everyone, for an administrator). `null`: everyone.
        var userId: PatchField<Int64>

        enum CodingKeys: String, CodingKey { case userMessage, response, orderIndex, userId }

        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            userMessage = try container.decodeIfPresent(String.self, forKey: .userMessage)
            response = try container.decode(String.self, forKey: .response)
            orderIndex = try container.decodeIfPresent(Int.self, forKey: .orderIndex)
            userId = try container.decodePatch(Int64.self, forKey: .userId)
        }
    }

    func addRoutes(to group: RouterGroup<AppRequestContext>) {
        group.get(use: list)
        group.post(use: create)
    }

    @Sendable func list(_ request: Request, context: AppRequestContext) async throws -> MessageList {
        let principal = try context.identity()
        let messages = try await chats.welcomeMessages(forUserId: principal.userId)
        return MessageList(welcomeMessages: messages.map(WelcomeMessageRepresentation.init))
    }

    @Sendable func create(_ request: Request, context: AppRequestContext) async throws -> EditedResponse<WelcomeMessageRepresentation> {
        let principal = try context.identity()
        let body = try await request.decode(as: CreateRequest.self, context: context)
        guard !body.response.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
            throw APIError.validation("Field 'response' must not be empty.")
        }
        let recipient: Int64?
        switch body.userId {
        case .absent: recipient = principal.isAdmin ? nil : principal.userId
        case .null: recipient = nil
        case .value(let id): recipient = id
        }
        if recipient != principal.userId || recipient == nil {
            try principal.requireAdmin(recipient == nil ? "write welcome messages for everyone" : "write welcome messages for other users")
        }
        if let recipient, try await accounts.user(id: recipient) == nil {
            throw APIError.notFound("User \(recipient)")
        }
        let message = try await chats.addWelcomeMessage(WelcomeMessage(
            userId: recipient, userMessage: body.userMessage, response: body.response, orderIndex: body.orderIndex ?? 0))
        return EditedResponse(status: .created, response: WelcomeMessageRepresentation(message))
    }
}
