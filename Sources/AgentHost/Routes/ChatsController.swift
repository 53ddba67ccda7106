import ChatBridge
import Hummingbird

/// Reading and curating stored chats: list, history, feedback, include/exclude, reset.
/// A user sees and changes only their own chats; administrators see all (PROTOCOL §2).
struct ChatsController {
    let chats: any ChatStore
    let accounts: any AccountStore

    struct ChatList: ResponseEncodable {
        var chats: [ChatRepresentation]
        @NullEncoded var nextCursor: String?
    }

    struct History: ResponseEncodable {
        var history: [HistoryMessage]
    }

    struct FeedbackRequest: Decodable {
        var chatId: Int64
        var feedback: PatchField<Bool>

        enum CodingKeys: String, CodingKey { case chatId, feedback }

        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            chatId = try container.decode(Int64.self, forKey: .chatId)
            feedback = try container.decodePatch(Bool.self, forKey: .feedback)
        }
    }

    struct UpdateRequest: Decodable {
        var include: Bool?
    }

    struct ResetRequest: Decodable {
        var workspace: String
        var thread: String?
    }

    struct ResetResponse: ResponseEncodable {
        var reset: Int
    }

    func addRoutes(to group: RouterGroup<AppRequestContext>) {
        group.get(use: list)
        group.get("history", use: history)
        group.post("feedback", use: feedback)
        group.post("reset", use: reset)
        group.patch(":id", use: update)
    }

    @Sendable func list(_ request: Request, context: AppRequestContext) async throws -> ChatList {
        let principal = try context.identity()
        let query = QueryParameters(request)
        var filter = ChatListQuery(limit: try query.int("limit", default: 50, range: 1...500))
        (filter.workspaceId, filter.threadId) = try await chats.listScope(query, viewer: principal.viewer)
        if let user = try query.string("user") {
            try principal.requireAdmin("list other users' chats")
            filter.userId = try await resolveUser(user).id
        }
        filter.sessionId = try query.string("session_id")
        filter.beforeId = try query.string("cursor").map(Cursor.decodeBeforeId)
        let page = try await chats.chats(filter, viewer: principal.viewer)
        return ChatList(chats: page.chats.map(ChatRepresentation.init), nextCursor: page.nextBeforeId.map(Cursor.encode))
    }

    @Sendable func history(_ request: Request, context: AppRequestContext) async throws -> History {
        let principal = try context.identity()
        let query = QueryParameters(request)
        let workspace = try await chats.requireWorkspace(slug: query.requiredString("workspace"))
        let thread = try await chats.requireThread(slug: query.string("thread"), in: workspace, viewer: principal.viewer)
        let filter = HistoryQuery(
            workspaceId: workspace.id!, threadId: thread?.id,
            from: try query.date("from"), to: try query.date("to", endOfRange: true),
            includeExcluded: try query.bool("include_excluded", default: false),
            limit: try query.int("limit", default: 100, range: 1...1000)
        )
        let entries = try await chats.history(filter, viewer: principal.viewer)
        return History(history: entries.flatMap { HistoryMessage.pair(for: $0.chat) })
    }

    @Sendable func feedback(_ request: Request, context: AppRequestContext) async throws -> ChatRepresentation {
        let principal = try context.identity()
        let body = try await request.decode(as: FeedbackRequest.self, context: context)
        let feedback: Bool?
        switch body.feedback {
        case .absent: throw APIError.validation("Missing required field 'feedback' (true, false or null).")
        case .null: feedback = nil
        case .value(let value): feedback = value
        }
        return ChatRepresentation(try await chats.setFeedback(chatId: body.chatId, feedback: feedback, viewer: principal.viewer))
    }

    @Sendable func update(_ request: Request, context: AppRequestContext) async throws -> ChatRepresentation {
        let principal = try context.identity()
        let idText = try context.parameters.require("id")
        guard let id = Int64(idText) else { throw APIError.notFound("Chat '\(idText)'") }
        let body = try await request.decode(as: UpdateRequest.self, context: context)
        guard let include = body.include else {
            throw APIError.validation("Nothing to change: send {\"include\": true|false}.")
        }
        return ChatRepresentation(try await chats.setInclude(chatId: id, include: include, viewer: principal.viewer))
    }

    @Sendable func reset(_ request: Request, context: AppRequestContext) async throws -> ResetResponse {
        let principal = try context.identity()
        let body = try await request.decode(as: ResetRequest.self, context: context)
        let workspace = try await chats.requireWorkspace(slug: body.workspace)
        let thread = try await chats.requireThread(slug: body.thread, in: workspace, viewer: principal.viewer)
        let count = try await chats.resetContext(workspaceId: workspace.id!, threadId: thread?.id, viewer: principal.viewer)
        return ResetResponse(reset: count)
    }

    /// A user named by username or numeric id.
    private func resolveUser(_ reference: String) async throws -> User {
        if let id = Int64(reference), let user = try await accounts.user(id: id) { return user }
        if let user = try await accounts.user(username: reference) { return user }
        throw APIError.notFound("User '\(reference)'")
    }
}
