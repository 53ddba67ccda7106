import Foundation
import GRDB

extension SQLiteStore: ChatStore {
    // MARK: Workspaces

    public func createWorkspace(_ workspace: Workspace) async throws -> Workspace {
        defer { workspaceCache.clear() }
        return try await writer.write { db in
            var workspace = workspace
            let base = Slug.make(from: workspace.name, fallback: "workspace")
            workspace.slug = try Slug.unique(base) { candidate in
                try Workspace.filter(Column("slug") == candidate).fetchCount(db) > 0
            }
            try workspace.insert(db)
            return workspace
        }
    }

    public func workspaces() async throws -> [Workspace] {
        try await writer.read { db in try Workspace.order(Column("id")).fetchAll(db) }
    }

    public func workspace(slug: String) async throws -> Workspace? {
        // Every chat request starts here: a read (and a row decoded) spared on the way to its first token.
        try await workspaceCache.value(for: slug) {
            try await writer.read { db in try Workspace.filter(Column("slug") == slug).fetchOne(db) }
        }
    }

    public func updateWorkspace(_ workspace: Workspace) async throws -> Workspace {
        // Cleared once the change has committed (or failed): a read racing it cannot keep the old row.
        defer { workspaceCache.clear() }
        return try await writer.write { db in
            var workspace = workspace
            workspace.updatedAt = Timestamp.now()
            try workspace.update(db)
            return workspace
        }
    }

    // MARK: Threads

    public func createThread(workspaceId: Int64, userId: Int64?, name: String) async throws -> ChatThread {
        try await writer.write { db in
            let base = Slug.make(from: name, fallback: "thread")
            let slug = try Slug.unique(base) { candidate in
                try ChatThread.filter(Column("workspace_id") == workspaceId && Column("slug") == candidate)
                    .fetchCount(db) > 0
            }
            var thread = ChatThread(workspaceId: workspaceId, userId: userId, name: name, slug: slug)
            try thread.insert(db)
            return thread
        }
    }

    public func threads(workspaceId: Int64, viewer: Viewer) async throws -> [ChatThread] {
        try await writer.read { db in
            var request = ChatThread.filter(Column("workspace_id") == workspaceId)
            if !viewer.isAdmin { request = request.filter(Column("user_id") == viewer.userId) }
            return try request.order(Column("id")).fetchAll(db)
        }
    }

    public func thread(workspaceId: Int64, slug: String, viewer: Viewer) async throws -> ChatThread? {
        try await writer.read { db in
            let thread = try ChatThread
                .filter(Column("workspace_id") == workspaceId && Column("slug") == slug)
                .fetchOne(db)
            return thread.flatMap { viewer.mayAccess(ownerId: $0.userId) ? $0 : nil }
        }
    }

    // MARK: Chats

    public func chats(_ query: ChatListQuery, viewer: Viewer) async throws -> ChatPage {
        var conditions: [String] = []
        var arguments: StatementArguments = []
        if let workspaceId = query.workspaceId {
            conditions.append("c.workspace_id = ?")
            arguments += [workspaceId]
        }
        if let threadId = query.threadId {
            conditions.append("c.thread_id = ?")
            arguments += [threadId]
        }
        if let sessionId = query.sessionId {
            conditions.append("c.api_session_id = ?")
            arguments += [sessionId]
        }
        if let beforeId = query.beforeId {
            conditions.append("c.id < ?")
            arguments += [beforeId]
        }
        Self.restrict(&conditions, &arguments, to: viewer, requestedUserId: query.userId)
        // One extra row tells whether another page follows without a second query.
        let sql = Self.selectChatEntries(where: conditions) + " ORDER BY c.id DESC LIMIT \(query.limit + 1)"
        // Decoded inside the read: rows are not Sendable, and returning them picked GRDB's blocking
        // `read` (on a cooperative thread) over the async one.
        let bound = arguments
        var entries = try await writer.read { db in try Row.fetchAll(db, sql: sql, arguments: bound).map(Self.chatEntry) }
        var next: Int64?
        if entries.count > query.limit {
            entries.removeLast()
            next = entries.last?.chat.id
        }
        return ChatPage(chats: entries, nextBeforeId: next)
    }

    public func history(_ query: HistoryQuery, viewer: Viewer) async throws -> [ChatEntry] {
        var conditions = ["c.workspace_id = ?", "c.status != 'streaming'"]
        var arguments: StatementArguments = [query.workspaceId]
        if let threadId = query.threadId {
            conditions.append("c.thread_id = ?")
            arguments += [threadId]
        } else {
            conditions.append("c.thread_id IS NULL")
        }
        if let from = query.from {
            conditions.append("c.created_at >= ?")
            arguments += [from]
        }
        if let to = query.to {
            conditions.append("c.created_at <= ?")
            arguments += [to]
        }
        if !query.includeExcluded { conditions.append("c.include = 1") }
        Self.restrict(&conditions, &arguments, to: viewer, requestedUserId: nil)
        let sql = Self.selectChatEntries(where: conditions) + " ORDER BY c.id DESC LIMIT \(query.limit)"
        let bound = arguments
        // Decoded inside the read, as above.
        return try await writer.read { db in try Row.fetchAll(db, sql: sql, arguments: bound).map(Self.chatEntry) }.reversed()
    }

    public func chat(id: Int64, viewer: Viewer) async throws -> ChatEntry? {
        try await writer.read { db in try Self.chatEntry(id: id, viewer: viewer, db: db) }
    }

    public func setFeedback(chatId: Int64, feedback: Bool?, viewer: Viewer) async throws -> ChatEntry {
        try await updateChat(id: chatId, viewer: viewer) { $0.feedback = feedback }
    }

    public func setInclude(chatId: Int64, include: Bool, viewer: Viewer) async throws -> ChatEntry {
        try await updateChat(id: chatId, viewer: viewer) { $0.include = include }
    }

    public func resetContext(workspaceId: Int64, threadId: Int64?, viewer: Viewer) async throws -> Int {
        try await writer.write { db in
            var request = Chat.filter(Column("workspace_id") == workspaceId && Column("include") == true)
            request = request.filter(Column("thread_id") == threadId)
            // Reset is about the caller's own conversation, admins included.
            request = request.filter(Column("user_id") == viewer.userId)
            return try request.updateAll(db, Column("include").set(to: false), Column("updated_at").set(to: Timestamp.now()))
        }
    }

    public func beginChat(_ chat: Chat, dailyLimit: Int?, now: Date) async throws -> Chat {
        try await writer.write { db in
            if let dailyLimit {
                let dayStart = Self.startOfUTCDay(now)
                let used = try Chat
                    .filter(Column("user_id") == chat.userId && Column("created_at") >= StoredDate(dayStart))
                    .fetchCount(db)
                if used >= dailyLimit {
                    throw APIError.dailyLimitReached(limit: dailyLimit, used: used, resetsAt: dayStart.addingTimeInterval(86_400))
                }
            }
            var chat = chat
            try chat.insertNew(db)
            return chat
        }
    }

    public func finishChat(id: Int64, outcome: ChatOutcome) async throws {
        let arguments = try Self.finishArguments(id: id, outcome: outcome)
        try await writer.write { db in
            try db.cachedStatement(sql: Self.finishSQL).execute(arguments: arguments)
        }
    }

    public func finishChat(id: Int64, outcome: ChatOutcome, recording event: EventLog) async throws -> Result<Void, any Error> {
        let arguments = try Self.finishArguments(id: id, outcome: outcome)
        // One transaction instead of two: every answer ends with both, and each write is a hop to the writer.
        return try await writer.write { db in
            try db.cachedStatement(sql: Self.finishSQL).execute(arguments: arguments)
            // A failed event row never costs the answer: a statement that fails is rolled back alone,
            // triggers and all, and the transaction goes on (a savepoint around it cost two more
            // statements per answer and undid nothing more).
            do {
                var event = event
                try event.insertNew(db)
                return .success(())
            } catch {
                return .failure(error)
            }
        }
    }

    /// One UPDATE of the columns an outcome sets (sources as the JSON the record itself would
    /// write), rather than fetching, decoding and re-encoding the whole row on every answer.
    private static let finishSQL = """
        UPDATE workspace_chats
        SET response = ?, status = ?, prompt_tokens = ?, completion_tokens = ?, model = COALESCE(?, model),
            sources = ?, error = ?, updated_at = ?
        WHERE id = ?
        """

    private static func finishArguments(id: Int64, outcome: ChatOutcome) throws -> StatementArguments {
        let sources = try Chat.encodeJSON(outcome.sources, column: "sources")
        return [outcome.response, outcome.status.rawValue, outcome.usage?.promptTokens, outcome.usage?.completionTokens,
                outcome.model, sources, outcome.error, StoredDate(Timestamp.now()), id]
    }

    public func contextWindow(_ conversation: Conversation, limit: Int) async throws -> [ContextTurn] {
        guard limit > 0 else { return [] }
        // Two columns read straight from the rows: this runs before every model call, and decoding
        // whole chats through Codable was an eighth of the CPU of a short answer.
        var sql = """
            SELECT prompt, response FROM workspace_chats
            WHERE workspace_id = ? AND thread_id IS ? AND user_id IS ? AND include = 1 AND status != ?
            """
        var arguments: StatementArguments = [conversation.workspaceId, conversation.threadId, conversation.userId,
                                             Chat.Status.streaming.rawValue]
        if let sessionId = conversation.sessionId {
            sql += " AND api_session_id = ?"
            arguments += [sessionId]
        }
        sql += " ORDER BY id DESC LIMIT ?"
        arguments += [limit]
        let (query, bound) = (sql, arguments)
        return try await writer.read { db in
            let statement = try db.cachedStatement(sql: query)
            var turns: [ContextTurn] = []
            turns.reserveCapacity(limit)
            let rows = try Row.fetchCursor(statement, arguments: bound)
            while let row = try rows.next() {
                turns.append(ContextTurn(prompt: row[0], response: row[1]))
            }
            return turns.reversed()
        }
    }

    public func searchChats(workspaceId: Int64, text: String, viewer: Viewer, limit: Int) async throws -> [Chat] {
        let words = text.split(whereSeparator: \.isWhitespace).map(String.init).prefix(8)
        guard !words.isEmpty else { return [] }
        return try await writer.read { db in
            var request = Chat.filter(Column("workspace_id") == workspaceId && Column("status") == Chat.Status.completed.rawValue)
            if !viewer.isAdmin { request = request.filter(Column("user_id") == viewer.userId) }
            for word in words {
                let pattern = "%" + word.replacingOccurrences(of: "\\", with: "\\\\")
                    .replacingOccurrences(of: "%", with: "\\%").replacingOccurrences(of: "_", with: "\\_") + "%"
                request = request.filter(sql: "(prompt LIKE ? ESCAPE '\\' OR response LIKE ? ESCAPE '\\')", arguments: [pattern, pattern])
            }
            return try request.order(Column("id").desc).limit(limit).fetchAll(db)
        }
    }

    // MARK: Welcome messages and telemetry

    public func welcomeMessages(forUserId userId: Int64?) async throws -> [WelcomeMessage] {
        // Every ws/chat connect sends them: a burst of reconnects should not queue up for the readers.
        try await welcomeCache.value(for: userId) {
            try await writer.read { db in
                var request = WelcomeMessage.filter(Column("user_id") == nil)
                if let userId {
                    request = WelcomeMessage.filter(Column("user_id") == nil || Column("user_id") == userId)
                }
                return try request.order(Column("order_index"), Column("id")).fetchAll(db)
            }
        } ?? []
    }

    public func addWelcomeMessage(_ message: WelcomeMessage) async throws -> WelcomeMessage {
        defer { welcomeCache.clear() }
        return try await writer.write { db in
            var message = message
            try message.insert(db)
            return message
        }
    }

    public func record(_ event: EventLog) async throws {
        try await writer.write { db in
            var event = event
            try event.insertNew(db)
        }
    }

    // MARK: Helpers

    static func startOfUTCDay(_ date: Date) -> Date {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        return calendar.startOfDay(for: date)
    }

    private func updateChat(id: Int64, viewer: Viewer, change: @escaping @Sendable (inout Chat) -> Void) async throws -> ChatEntry {
        try await writer.write { db in
            guard var chat = try Chat.fetchOne(db, key: id), viewer.mayAccess(ownerId: chat.userId) else {
                throw APIError.notFound("Chat \(id)")
            }
            change(&chat)
            chat.updatedAt = Timestamp.now()
            try chat.update(db)
            guard let entry = try Self.chatEntry(id: id, viewer: viewer, db: db) else {
                throw APIError.notFound("Chat \(id)")
            }
            return entry
        }
    }

    private static func restrict(
        _ conditions: inout [String], _ arguments: inout StatementArguments, to viewer: Viewer, requestedUserId: Int64?
    ) {
        if !viewer.isAdmin {
            conditions.append(viewer.userId == nil ? "c.user_id IS NULL" : "c.user_id = ?")
            if let userId = viewer.userId { arguments += [userId] }
        } else if let requestedUserId {
            conditions.append("c.user_id = ?")
            arguments += [requestedUserId]
        }
    }

    private static func selectChatEntries(where conditions: [String]) -> String {
        var sql = """
            SELECT c.*, w.slug AS workspace_slug, t.slug AS thread_slug
            FROM workspace_chats c
            JOIN workspaces w ON w.id = c.workspace_id
            LEFT JOIN threads t ON t.id = c.thread_id
            """
        if !conditions.isEmpty { sql += " WHERE " + conditions.joined(separator: " AND ") }
        return sql
    }

    private static func chatEntry(_ row: Row) throws -> ChatEntry {
        ChatEntry(chat: try Chat(row: row), workspaceSlug: row["workspace_slug"], threadSlug: row["thread_slug"])
    }

    private static func chatEntry(id: Int64, viewer: Viewer, db: Database) throws -> ChatEntry? {
        var conditions = ["c.id = ?"]
        var arguments: StatementArguments = [id]
        restrict(&conditions, &arguments, to: viewer, requestedUserId: nil)
        return try Row.fetchOne(db, sql: selectChatEntries(where: conditions), arguments: arguments).map(chatEntry)
    }
}
