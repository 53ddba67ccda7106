import Foundation

/// A chat with the slugs of its workspace and thread, as the API shows it.
public struct ChatEntry: Sendable, Equatable {
    public var chat: Chat
    public var workspaceSlug: String
    public var threadSlug: String?

    public init(chat: Chat, workspaceSlug: String, threadSlug: String?) {
        self.chat = chat
        self.workspaceSlug = workspaceSlug
        self.threadSlug = threadSlug
    }
}

/// Filters of `GET /api/chats/`.
public struct ChatListQuery: Sendable, Equatable {
    public var workspaceId: Int64?
    public var threadId: Int64?
    public var userId: Int64?
    public var sessionId: String?
    public var limit: Int
    /// Only chats with a smaller id (the keyset cursor of the previous page).
    public var beforeId: Int64?

    public init(
        workspaceId: Int64? = nil, threadId: Int64? = nil, userId: Int64? = nil, sessionId: String? = nil,
        limit: Int = 50, beforeId: Int64? = nil
    ) {
        self.workspaceId = workspaceId
        self.threadId = threadId
        self.userId = userId
        self.sessionId = sessionId
        self.limit = limit
        self.beforeId = beforeId
    }
}

/// One page of chats, newest first, with the id to continue from.
public struct ChatPage: Sendable, Equatable {
    public var chats: [ChatEntry]
    /// The smallest id on this page when more may follow.
    public var nextBeforeId: Int64?
}

/// Filters of `GET /api/chats/history/`.
public struct HistoryQuery: Sendable, Equatable {
    public var workspaceId: Int64
    /// `nil` is the default thread (chats outside any thread).
    public var threadId: Int64?
    public var from: Date?
    public var to: Date?
    public var includeExcluded: Bool
    public var limit: Int

    public init(
        workspaceId: Int64, threadId: Int64?, from: Date? = nil, to: Date? = nil, includeExcluded: Bool = false,
        limit: Int = 100
    ) {
        self.workspaceId = workspaceId
        self.threadId = threadId
        self.from = from
        self.to = to
        self.includeExcluded = includeExcluded
        self.limit = limit
    }
}

/// The conversation a new chat continues, used to pick its history window.
public struct Conversation: Sendable, Equatable {
    public var workspaceId: Int64
    public var threadId: Int64?
    public var userId: Int64?
    public var sessionId: String?

    public init(workspaceId: Int64, threadId: Int64?, userId: Int64?, sessionId: String?) {
        self.workspaceId = workspaceId
        self.threadId = threadId
        self.userId = userId
        self.sessionId = sessionId
    }
}

/// One earlier exchange of a conversation, as the model sees it in its context.
public struct ContextTurn: Sendable, Equatable {
    public var prompt: String
    public var response: String

    public init(prompt: String, response: String) {
        self.prompt = prompt
        self.response = response
    }
}

/// How a generation ended, written back onto its chat row.
public struct ChatOutcome: Sendable, Equatable {
    public var response: String
    public var status: Chat.Status
    public var usage: Usage?
    public var model: String?
    public var sources: [ChatSource]
    public var error: String?

    public init(
        response: String, status: Chat.Status, usage: Usage?, model: String?, sources: [ChatSource] = [],
        error: String? = nil
    ) {
        self.response = response
        self.status = status
        self.usage = usage
        self.model = model
        self.sources = sources
        self.error = error
    }
}
