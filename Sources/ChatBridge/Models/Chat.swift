import Foundation
import GRDB

/// One exchange: a prompt and the response to it, stored as one row of `workspace_chats`.
public struct Chat: Codable, Sendable, Equatable, Identifiable {
    /// Where the generation of the response stands.
    public enum Status: String, Codable, Sendable {
        case streaming
        case completed
        case cancelled
        case failed
        /// Cut by a server crash or shutdown (PROTOCOL §8); the response holds what was stored.
        case interrupted
    }

    public var id: Int64?
    /// The UUID a client sees while the response streams (`chat_id` on the wire).
    public var chatUuid: String
    public var workspaceId: Int64
    public var threadId: Int64?
    public var userId: Int64?
    public var prompt: String
    public var response: String
    public var sources: [ChatSource]
    public var attachments: [AttachmentInfo]
    public var feedback: Bool?
    /// Whether the chat goes into the context of later chats.
    public var include: Bool
    public var apiSessionId: String?
    public var mode: Workspace.ChatMode
    public var model: String?
    public var status: Status
    public var promptTokens: Int?
    public var completionTokens: Int?
    public var error: String?
    public var createdAt: Date
    public var updatedAt: Date

    public init(
        id: Int64? = nil, chatUuid: String = UUID.random().uuidString.lowercased(), workspaceId: Int64, threadId: Int64?,
        userId: Int64?, prompt: String, response: String = "", sources: [ChatSource] = [],
        attachments: [AttachmentInfo] = [], feedback: Bool? = nil, include: Bool = true,
        apiSessionId: String? = nil, mode: Workspace.ChatMode = .chat, model: String? = nil,
        status: Status = .streaming, promptTokens: Int? = nil, completionTokens: Int? = nil, error: String? = nil,
        createdAt: Date = Timestamp.now(), updatedAt: Date = Timestamp.now()
    ) {
        self.id = id
        self.chatUuid = chatUuid
        self.workspaceId = workspaceId
        self.threadId = threadId
        self.userId = userId
        self.prompt = prompt
        self.response = response
        self.sources = sources
        self.attachments = attachments
        self.feedback = feedback
        self.include = include
        self.apiSessionId = apiSessionId
        self.mode = mode
        self.model = model
        self.status = status
        self.promptTokens = promptTokens
        self.completionTokens = completionTokens
        self.error = error
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }
}

extension Chat: FetchableRecord, MutablePersistableRecord, SnakeCaseColumns {
    public static let databaseTableName = "workspace_chats"

    public mutating func didInsert(_ inserted: InsertionSuccess) {
        id = inserted.rowID
    }
}

/// A piece of a document that grounded an answer.
public struct ChatSource: Codable, Sendable, Equatable {
    public var title: String
    public var chunk: String
    public var score: Double
    public var documentId: Int64?

    public init(title: String, chunk: String, score: Double, documentId: Int64?) {
        self.title = title
        self.chunk = chunk
        self.score = score
        self.documentId = documentId
    }
}

/// What is kept of an attachment after its content went into the context.
public struct AttachmentInfo: Codable, Sendable, Equatable {
    public var name: String
    public var mime: String
    public var size: Int

    public init(name: String, mime: String, size: Int) {
        self.name = name
        self.mime = mime
        self.size = size
    }
}

/// Token counts of one exchange.
public struct Usage: Codable, Sendable, Equatable {
    public var promptTokens: Int
    public var completionTokens: Int

    public init(promptTokens: Int, completionTokens: Int) {
        self.promptTokens = promptTokens
        self.completionTokens = completionTokens
    }

    public static let zero = Usage(promptTokens: 0, completionTokens: 0)

    public static func + (lhs: Usage, rhs: Usage) -> Usage {
        Usage(promptTokens: lhs.promptTokens + rhs.promptTokens, completionTokens: lhs.completionTokens + rhs.completionTokens)
    }
}
