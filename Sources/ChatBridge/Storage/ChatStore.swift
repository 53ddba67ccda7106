import Foundation

/// Workspaces, threads, chats and welcome messages. Routes and the pipeline talk to this, never to SQL.
public protocol ChatStore: Sendable {
    // Workspaces
    func createWorkspace(_ workspace: Workspace) async throws -> Workspace
    func workspaces() async throws -> [Workspace]
    func workspace(slug: String) async throws -> Workspace?
    func updateWorkspace(_ workspace: Workspace) async throws -> Workspace

    // Threads
    func createThread(workspaceId: Int64, userId: Int64?, name: String) async throws -> ChatThread
    func threads(workspaceId: Int64, viewer: Viewer) async throws -> [ChatThread]
    /// The thread `slug` of a workspace when the viewer may see it.
    func thread(workspaceId: Int64, slug: String, viewer: Viewer) async throws -> ChatThread?

    // Chats
    func chats(_ query: ChatListQuery, viewer: Viewer) async throws -> ChatPage
    /// The newest `query.limit` chats of a conversation, returned oldest first.
    func history(_ query: HistoryQuery, viewer: Viewer) async throws -> [ChatEntry]
    func chat(id: Int64, viewer: Viewer) async throws -> ChatEntry?
    func setFeedback(chatId: Int64, feedback: Bool?, viewer: Viewer) async throws -> ChatEntry
    func setInclude(chatId: Int64, include: Bool, viewer: Viewer) async throws -> ChatEntry
    /// Excludes the viewer's chats of a conversation from future context; returns how many changed.
    func resetContext(workspaceId: Int64, threadId: Int64?, viewer: Viewer) async throws -> Int

    /// Stores the prompt row of a new chat, first checking the user's daily limit in the same
    /// transaction so concurrent requests never admit more than the limit.
    func beginChat(_ chat: Chat, dailyLimit: Int?, now: Date) async throws -> Chat
    /// Writes the response and outcome onto a chat begun with ``beginChat(_:dailyLimit:now:)``.
    func finishChat(id: Int64, outcome: ChatOutcome) async throws
    /// ``finishChat(id:outcome:)`` and ``record(_:)`` of the chat's event row, in one write where the
    /// backend can. The event row never costs the answer: the finish throws only for the chat's own
    /// update, and the event row's write is returned.
    func finishChat(id: Int64, outcome: ChatOutcome, recording event: EventLog) async throws -> Result<Void, any Error>
    /// The prompts and responses of the last `limit` included, finished chats of a conversation,
    /// oldest first, for context.
    func contextWindow(_ conversation: Conversation, limit: Int) async throws -> [ContextTurn]

    /// The viewer's completed chats of a workspace whose prompt or response contains every word of
    /// `text`, newest first.
    func searchChats(workspaceId: Int64, text: String, viewer: Viewer, limit: Int) async throws -> [Chat]

    // Welcome messages
    func welcomeMessages(forUserId userId: Int64?) async throws -> [WelcomeMessage]
    func addWelcomeMessage(_ message: WelcomeMessage) async throws -> WelcomeMessage

    // Telemetry
    func record(_ event: EventLog) async throws
}

extension ChatStore {
    /// Two writes: the chat's update, then its event row.
    public func finishChat(id: Int64, outcome: ChatOutcome, recording event: EventLog) async throws -> Result<Void, any Error> {
        try await finishChat(id: id, outcome: outcome)
        do {
            try await record(event)
            return .success(())
        } catch {
            return .failure(error)
        }
    }
}

/// Users and API keys.
public protocol AccountStore: Sendable {
    /// Whether any user exists: the switch between single-user and multi-user mode.
    func hasUsers() async throws -> Bool
    func createUser(_ user: User) async throws -> User
    func user(id: Int64) async throws -> User?
    func user(username: String) async throws -> User?
    func users() async throws -> [User]
    func updateUser(_ user: User) async throws -> User

    func createAPIKey(_ key: APIKey) async throws -> APIKey
    /// The unrevoked key whose secret hashes to `secretHash`; marks it used.
    func activeAPIKey(secretHash: String, now: Date) async throws -> APIKey?
    func apiKeys() async throws -> [APIKey]
    /// Revokes a key; returns false when there is no such active key.
    func revokeAPIKey(id: Int64, now: Date) async throws -> Bool
}
