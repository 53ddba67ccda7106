import Foundation
import GRDB

extension PostgresStore: ChatStore {
    // MARK: Workspaces

    public func createWorkspace(_ workspace: Workspace) async throws -> Workspace {
        let base = Slug.make(from: workspace.name, fallback: "workspace")
        return try await insertWithUniqueSlug(base, taken: "SELECT slug FROM workspaces WHERE slug = ? OR slug LIKE ?", []) { slug in
            var workspace = workspace
            workspace.slug = slug
            return try await self.database.insert(workspace)
        }
    }

    public func workspaces() async throws -> [Workspace] {
        try await database.records(Workspace.self, "SELECT * FROM workspaces ORDER BY id")
    }

    public func workspace(slug: String) async throws -> Workspace? {
        try await database.records(Workspace.self, "SELECT * FROM workspaces WHERE slug = ?", [slug]).first
    }

    public func updateWorkspace(_ workspace: Workspace) async throws -> Workspace {
        var workspace = workspace
        workspace.updatedAt = Timestamp.now()
        try await database.update(workspace)
        return workspace
    }

    // MARK: Threads

    public func createThread(workspaceId: Int64, userId: Int64?, name: String) async throws -> ChatThread {
        let base = Slug.make(from: name, fallback: "thread")
        return try await insertWithUniqueSlug(
            base, taken: "SELECT slug FROM threads WHERE workspace_id = ? AND (slug = ? OR slug LIKE ?)", [workspaceId]
        ) { slug in
            try await self.database.insert(ChatThread(workspaceId: workspaceId, userId: userId, name: name, slug: slug))
        }
    }

    public func threads(workspaceId: Int64, viewer: Viewer) async throws -> [ChatThread] {
        if viewer.isAdmin {
            return try await database.records(ChatThread.self, "SELECT * FROM threads WHERE workspace_id = ? ORDER BY id", [workspaceId])
        }
        return try await database.records(ChatThread.self, """
            SELECT * FROM threads WHERE workspace_id = ? AND user_id IS NOT DISTINCT FROM ? ORDER BY id
            """, [workspaceId, viewer.userId])
    }

    public func thread(workspaceId: Int64, slug: String, viewer: Viewer) async throws -> ChatThread? {
        let thread = try await database.records(ChatThread.self, "SELECT * FROM threads WHERE workspace_id = ? AND slug = ?",
                                                [workspaceId, slug]).first
        return thread.flatMap { viewer.mayAccess(ownerId: $0.userId) ? $0 : nil }
    }

    // MARK: Chats

    public func chats(_ query: ChatListQuery, viewer: Viewer) async throws -> ChatPage {
        var statement = PostgresStatement(Self.selectChatEntries)
        var conditions: [(String, [(any DatabaseValueConvertible)?])] = []
        if let workspaceId = query.workspaceId { conditions.append(("c.workspace_id = ?", [workspaceId])) }
        if let threadId = query.threadId { conditions.append(("c.thread_id = ?", [threadId])) }
        if let sessionId = query.sessionId { conditions.append(("c.api_session_id = ?", [sessionId])) }
        if let beforeId = query.beforeId { conditions.append(("c.id < ?", [beforeId])) }
        conditions += Self.restriction(viewer, requestedUserId: query.userId)
        Self.appendWhere(conditions, to: &statement)
        // One extra row tells whether another page follows without a second query.
        statement.append(" ORDER BY c.id DESC LIMIT ?", [query.limit + 1])
        var entries = try await database.fetchAll(statement).map(Self.chatEntry)
        var next: Int64?
        if entries.count > query.limit {
            entries.removeLast()
            next = entries.last?.chat.id
        }
        return ChatPage(chats: entries, nextBeforeId: next)
    }

    public func history(_ query: HistoryQuery, viewer: Viewer) async throws -> [ChatEntry] {
        var statement = PostgresStatement(Self.selectChatEntries)
        var conditions: [(String, [(any DatabaseValueConvertible)?])] = [
            ("c.workspace_id = ?", [query.workspaceId]), ("c.status <> 'streaming'", []),
            ("c.thread_id IS NOT DISTINCT FROM ?", [query.threadId]),
        ]
        if let from = query.from { conditions.append(("c.created_at >= ?", [from])) }
        if let to = query.to { conditions.append(("c.created_at <= ?", [to])) }
        if !query.includeExcluded { conditions.append(("c.include", [])) }
        conditions += Self.restriction(viewer, requestedUserId: nil)
        Self.appendWhere(conditions, to: &statement)
        statement.append(" ORDER BY c.id DESC LIMIT ?", [query.limit])
        return try await database.fetchAll(statement).map(Self.chatEntry).reversed()
    }

    public func chat(id: Int64, viewer: Viewer) async throws -> ChatEntry? {
        try await Self.chatEntry(id: id, viewer: viewer, in: database)
    }

    public func setFeedback(chatId: Int64, feedback: Bool?, viewer: Viewer) async throws -> ChatEntry {
        try await updateChat(id: chatId, viewer: viewer, set: "feedback = ?", [feedback])
    }

    public func setInclude(chatId: Int64, include: Bool, viewer: Viewer) async throws -> ChatEntry {
        try await updateChat(id: chatId, viewer: viewer, set: "include = ?", [include])
    }

    public func resetContext(workspaceId: Int64, threadId: Int64?, viewer: Viewer) async throws -> Int {
        // Reset is about the caller's own conversation, admins included.
        try await database.fetchAll("""
            UPDATE workspace_chats SET include = false, updated_at = ?
            WHERE workspace_id = ? AND include AND thread_id IS NOT DISTINCT FROM ? AND user_id IS NOT DISTINCT FROM ?
            RETURNING id
            """, [Timestamp.now(), workspaceId, threadId, viewer.userId]).count
    }

    public func beginChat(_ chat: Chat, dailyLimit: Int?, now: Date) async throws -> Chat {
        guard let dailyLimit else { return try await database.insert(chat) }
        return try await database.transaction { db in
            // Count and insert under a per-user lock held to the end of the transaction: concurrent
            // requests of one user (on any instance) take turns, so none sees a count that another is
            // about to raise, and the limit is never over-admitted.
            try await db.execute("SELECT pg_advisory_xact_lock(?::int, ?::int)",
                                 [Self.dailyLimitLockSpace, Int32(truncatingIfNeeded: chat.userId ?? 0)])
            let dayStart = SQLiteStore.startOfUTCDay(now)
            let used = try await db.scalar(Int.self, """
                SELECT count(*) FROM workspace_chats WHERE user_id IS NOT DISTINCT FROM ? AND created_at >= ?
                """, [chat.userId, dayStart]) ?? 0
            if used >= dailyLimit {
                throw APIError.dailyLimitReached(limit: dailyLimit, used: used, resetsAt: dayStart.addingTimeInterval(86_400))
            }
            return try await db.insert(chat)
        }
    }

    /// The first key of the two-key advisory locks that serialise each user's daily-limit checks.
    static let dailyLimitLockSpace: Int32 = 0x4147_4C01

    public func finishChat(id: Int64, outcome: ChatOutcome) async throws {
        let sources = try Chat.encodeJSON(outcome.sources, column: "sources")
        try await database.execute("""
            UPDATE workspace_chats
            SET response = ?, status = ?, prompt_tokens = ?, completion_tokens = ?, model = COALESCE(?, model),
                sources = ?, error = ?, updated_at = ?
            WHERE id = ?
            """, [outcome.response, outcome.status.rawValue, outcome.usage?.promptTokens, outcome.usage?.completionTokens,
                  outcome.model, sources, outcome.error, Timestamp.now(), id])
    }

    public func contextWindow(_ conversation: Conversation, limit: Int) async throws -> [ContextTurn] {
        guard limit > 0 else { return [] }
        var statement = PostgresStatement("""
            SELECT prompt, response FROM workspace_chats
            WHERE workspace_id = ? AND thread_id IS NOT DISTINCT FROM ? AND user_id IS NOT DISTINCT FROM ? AND include AND status <> ?
            """, [conversation.workspaceId, conversation.threadId, conversation.userId, Chat.Status.streaming.rawValue])
        if let sessionId = conversation.sessionId { statement.append(" AND api_session_id = ?", [sessionId]) }
        statement.append(" ORDER BY id DESC LIMIT ?", [limit])
        return try await database.rows(statement).map { row in
            let (prompt, response) = try row.decode((String, String).self)
            return ContextTurn(prompt: prompt, response: response)
        }.reversed()
    }

    public func searchChats(workspaceId: Int64, text: String, viewer: Viewer, limit: Int) async throws -> [Chat] {
        let words = text.split(whereSeparator: \.isWhitespace).map(String.init).prefix(8)
        guard !words.isEmpty else { return [] }
        var statement = PostgresStatement("SELECT \(Self.chatColumns) FROM workspace_chats c WHERE c.workspace_id = ? AND c.status = ?",
                                          [workspaceId, Chat.Status.completed.rawValue])
        if !viewer.isAdmin { statement.append(" AND c.user_id IS NOT DISTINCT FROM ?", [viewer.userId]) }
        for word in words {
            // ILIKE: SQLite's LIKE is case-insensitive for ASCII.
            let pattern = "%" + word.replacingOccurrences(of: "\\", with: "\\\\")
                .replacingOccurrences(of: "%", with: "\\%").replacingOccurrences(of: "_", with: "\\_") + "%"
            statement.append(" AND (c.prompt ILIKE ? OR c.response ILIKE ?)", [pattern, pattern])
        }
        statement.append(" ORDER BY c.id DESC LIMIT ?", [limit])
        return try await database.fetchAll(statement).map { try Chat(row: $0) }
    }

    // MARK: Welcome messages and telemetry

    public func welcomeMessages(forUserId userId: Int64?) async throws -> [WelcomeMessage] {
        try await database.records(WelcomeMessage.self, """
            SELECT * FROM welcome_messages WHERE user_id IS NULL OR user_id = ? ORDER BY order_index, id
            """, [userId])
    }

    public func addWelcomeMessage(_ message: WelcomeMessage) async throws -> WelcomeMessage {
        try await database.insert(message)
    }

    public func record(_ event: EventLog) async throws {
        _ = try await database.insert(event)
    }

    // MARK: Helpers

    /// Inserts with the first free slug of `base`; another writer taking the same slug at the same
    /// moment makes the unique index refuse one insert, which then tries the next free slug.
    private func insertWithUniqueSlug<Record: Sendable>(
        _ base: String, taken sql: String, _ scope: [(any DatabaseValueConvertible)?],
        insert: @Sendable (String) async throws -> Record
    ) async throws -> Record {
        let like = base.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "%", with: "\\%")
            .replacingOccurrences(of: "_", with: "\\_") + "-%"
        for attempt in 0..<5 {
            let used = Set(try await database.fetchAll(sql, scope + [base, like]).map { $0[0] as String })
            let slug = Slug.unique(base) { used.contains($0) }
            do {
                return try await insert(slug)
            } catch where PostgresDatabase.sqlState(of: error) == PostgresDatabase.uniqueViolation && attempt < 4 {
                continue
            }
        }
        throw APIError(.conflict, "Could not find a free slug for '\(base)'.")
    }

    private func updateChat(id: Int64, viewer: Viewer, set assignment: String,
                            _ values: [(any DatabaseValueConvertible)?]) async throws -> ChatEntry {
        var statement = PostgresStatement("UPDATE workspace_chats c SET \(assignment), updated_at = ? WHERE c.id = ?",
                                          values + [Timestamp.now(), id])
        for (condition, arguments) in Self.restriction(viewer, requestedUserId: nil) {
            statement.append(" AND " + condition, arguments)
        }
        statement.append(" RETURNING c.id")
        guard try await !database.fetchAll(statement).isEmpty, let entry = try await Self.chatEntry(id: id, viewer: viewer, in: database)
        else { throw APIError.notFound("Chat \(id)") }
        return entry
    }

    static func restriction(_ viewer: Viewer, requestedUserId: Int64?) -> [(String, [(any DatabaseValueConvertible)?])] {
        if !viewer.isAdmin {
            return [("c.user_id IS NOT DISTINCT FROM ?", [viewer.userId])]
        } else if let requestedUserId {
            return [("c.user_id = ?", [requestedUserId])]
        }
        return []
    }

    static func appendWhere(_ conditions: [(String, [(any DatabaseValueConvertible)?])], to statement: inout PostgresStatement) {
        for (index, (condition, arguments)) in conditions.enumerated() {
            statement.append((index == 0 ? " WHERE " : " AND ") + condition, arguments)
        }
    }

    static let selectChatEntries = """
        SELECT \(chatColumns), w.slug AS workspace_slug, t.slug AS thread_slug, u.username AS username
        FROM workspace_chats c
        JOIN workspaces w ON w.id = c.workspace_id
        LEFT JOIN threads t ON t.id = c.thread_id
        LEFT JOIN users u ON u.id = c.user_id
        """

    static func chatEntry(_ row: Row) throws -> ChatEntry {
        ChatEntry(chat: try Chat(row: row), workspaceSlug: row["workspace_slug"], threadSlug: row["thread_slug"])
    }

    static func chatEntry(id: Int64, viewer: Viewer, in db: some PostgresExecutor) async throws -> ChatEntry? {
        var statement = PostgresStatement(selectChatEntries)
        appendWhere([("c.id = ?", [id])] + restriction(viewer, requestedUserId: nil), to: &statement)
        return try await db.fetchAll(statement).first.map(chatEntry)
    }
}
