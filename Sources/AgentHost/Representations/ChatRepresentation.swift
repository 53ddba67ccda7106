import ChatBridge
import Foundation
import Hummingbird

/// A chat as PROTOCOL §3 shows it.
struct ChatRepresentation: ResponseEncodable, Sendable {
    struct UsageRepresentation: Encodable, Sendable {
        var promptTokens: Int
        var completionTokens: Int
    }

    var dbId: Int64
    var chatId: String
    var workspace: String
    @NullEncoded var thread: String?
    @NullEncoded var userId: Int64?
    var prompt: String
    var response: String
    var sources: [ChatSource]
    var attachments: [AttachmentInfo]
    @NullEncoded var feedback: Bool?
    var include: Bool
    @NullEncoded var apiSessionId: String?
    var mode: Workspace.ChatMode
    @NullEncoded var model: String?
    var status: Chat.Status
    @NullEncoded var usage: UsageRepresentation?
    var createdAt: Date
    var updatedAt: Date

    init(_ entry: ChatEntry) {
        let chat = entry.chat
        dbId = chat.id ?? 0
        chatId = chat.chatUuid
        workspace = entry.workspaceSlug
        thread = entry.threadSlug
        userId = chat.userId
        prompt = chat.prompt
        response = chat.response
        sources = chat.sources
        attachments = chat.attachments
        feedback = chat.feedback
        include = chat.include
        apiSessionId = chat.apiSessionId
        mode = chat.mode
        model = chat.model
        status = chat.status
        if chat.promptTokens != nil || chat.completionTokens != nil {
            usage = .init(promptTokens: chat.promptTokens ?? 0, completionTokens: chat.completionTokens ?? 0)
        }
        createdAt = chat.createdAt
        updatedAt = chat.updatedAt
    }
}

/// One message of `GET /api/chats/history/`.
struct HistoryMessage: Encodable, Sendable {
    enum Role: String, Encodable, Sendable {
        case user
        case assistant
    }

    var role: Role
    var content: String
    var chatId: Int64
    var sentAt: Date
    var attachments: [AttachmentInfo]?
    var sources: [ChatSource]?
    var feedback: Bool?
    var status: Chat.Status?

    /// The user's prompt and the assistant's response of one chat.
    static func pair(for chat: Chat) -> [HistoryMessage] {
        let id = chat.id ?? 0
        return [
            HistoryMessage(role: .user, content: chat.prompt, chatId: id, sentAt: chat.createdAt,
                           attachments: chat.attachments.isEmpty ? nil : chat.attachments),
            HistoryMessage(role: .assistant, content: chat.response, chatId: id, sentAt: chat.updatedAt,
                           sources: chat.sources.isEmpty ? nil : chat.sources, feedback: chat.feedback,
                           status: chat.status == .completed ? nil : chat.status),
        ]
    }
}
