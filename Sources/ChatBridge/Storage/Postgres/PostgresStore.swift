import Foundation
import GRDB

/// The PostgreSQL implementation of every store protocol (PROTOCOL §9), behaving as ``SQLiteStore``
/// does; the conformance suite runs the same checks against both.
public final class PostgresStore: Sendable {
    public let database: PostgresDatabase
    /// This process's name as the owner of the runs it starts (PROTOCOL §9): random per process.
    public let instanceId: String
    /// How long a lease on a run holds without renewal.
    public let leaseDuration: Duration
    /// Asked by every request that carries no valid credential.
    private let usersExist = UsersExistLatch()

    public init(database: PostgresDatabase, instanceId: String = UUID.random().uuidString.lowercased(),
                leaseDuration: Duration = .seconds(15)) {
        self.database = database
        self.instanceId = instanceId
        self.leaseDuration = leaseDuration
    }

    /// ``leaseDuration`` in seconds, for SQL.
    var leaseSeconds: Double { Self.seconds(leaseDuration) }

    /// The columns of `workspace_chats` a ``Chat`` reads (not its search vectors).
    static let chatColumns = """
        c.id, c.chat_uuid, c.workspace_id, c.thread_id, c.user_id, c.prompt, c.response, c.sources, c.attachments,
        c.feedback, c.include, c.api_session_id, c.mode, c.model, c.status, c.prompt_tokens, c.completion_tokens,
        c.error, c.created_at, c.updated_at
        """
}

extension PostgresStore: AccountStore {
    public func hasUsers() async throws -> Bool {
        try await usersExist.hasUsers {
            try await database.scalar(Bool.self, "SELECT EXISTS (SELECT 1 FROM users)") ?? false
        }
    }

    public func createUser(_ user: User) async throws -> User {
        do {
            return try await database.transaction { db in
                if try await db.scalar(Bool.self, "SELECT EXISTS (SELECT 1 FROM users WHERE lower(username) = lower(?))", [user.username]) ?? false {
                    throw APIError(.conflict, "A user named '\(user.username)' already exists.")
                }
                return try await db.insert(user)
            }
        } catch let error where PostgresDatabase.sqlState(of: error) == PostgresDatabase.uniqueViolation {
            // Two instances creating the same name at once: the unique index decides.
            throw APIError(.conflict, "A user named '\(user.username)' already exists.")
        }
    }

    public func user(id: Int64) async throws -> User? {
        try await database.records(User.self, "SELECT * FROM users WHERE id = ?", [id]).first
    }

    public func user(username: String) async throws -> User? {
        try await database.records(User.self, "SELECT * FROM users WHERE lower(username) = lower(?)", [username]).first
    }

    public func users() async throws -> [User] {
        try await database.records(User.self, "SELECT * FROM users ORDER BY id")
    }

    public func updateUser(_ user: User) async throws -> User {
        var user = user
        user.updatedAt = Timestamp.now()
        try await database.update(user)
        return user
    }

    public func createAPIKey(_ key: APIKey) async throws -> APIKey {
        try await database.insert(key)
    }

    public func activeAPIKey(secretHash: String, now: Date) async throws -> APIKey? {
        guard let key = try await database.records(
            APIKey.self, "SELECT * FROM api_keys WHERE secret_hash = ? AND revoked_at IS NULL", [secretHash]).first
        else { return nil }
        // Minute resolution is enough to audit, and keeps most requests free of a write.
        guard key.lastUsedAt.map({ now.timeIntervalSince($0) > 60 }) ?? true else { return key }
        return try await database.transaction { db in
            guard var current = try await db.records(
                APIKey.self, "SELECT * FROM api_keys WHERE secret_hash = ? AND revoked_at IS NULL FOR UPDATE", [secretHash]).first
            else { return nil }
            if current.lastUsedAt.map({ now.timeIntervalSince($0) > 60 }) ?? true {
                current.lastUsedAt = now
                try await db.execute("UPDATE api_keys SET last_used_at = ? WHERE id = ?", [now, current.id])
            }
            return current
        }
    }

    public func apiKeys() async throws -> [APIKey] {
        try await database.records(APIKey.self, "SELECT * FROM api_keys ORDER BY id")
    }

    public func revokeAPIKey(id: Int64, now: Date) async throws -> Bool {
        try await !database.fetchAll("UPDATE api_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL RETURNING id",
                                     [now, id]).isEmpty
    }
}

extension PostgresStore: NoteStore {
    public func addNote(_ note: WorkspaceNote) async throws -> WorkspaceNote {
        try await database.insert(note)
    }

    public func notes(workspaceId: Int64, viewer: Viewer) async throws -> [WorkspaceNote] {
        try await database.records(WorkspaceNote.self, """
            SELECT * FROM workspace_notes WHERE workspace_id = ? AND user_id IS NOT DISTINCT FROM ? ORDER BY id
            """, [workspaceId, viewer.userId])
    }

    public func deleteNote(id: Int64, workspaceId: Int64, viewer: Viewer) async throws -> Bool {
        try await !database.fetchAll("""
            DELETE FROM workspace_notes WHERE id = ? AND workspace_id = ? AND user_id IS NOT DISTINCT FROM ? RETURNING id
            """, [id, workspaceId, viewer.userId]).isEmpty
    }
}

extension PostgresStore: InvocationStore {
    public func createInvocation(_ invocation: AgentInvocation) async throws {
        try await database.execute(AgentInvocation.insertSQL, invocation.insertValues)
    }

    public func recordStep(_ step: AgentStep) async throws {
        try await database.execute(AgentStep.insertSQL, step.insertValues)
    }

    public func finishInvocation(_ invocation: AgentInvocation) async throws {
        try await database.execute(AgentInvocation.outcomeUpdateSQL, invocation.outcomeUpdateValues)
    }

    public func invocation(id: String, viewer: Viewer) async throws -> (AgentInvocation, [AgentStep])? {
        guard let invocation = try await database.records(AgentInvocation.self, "SELECT * FROM agent_invocations WHERE id = ?", [id]).first,
              viewer.mayAccess(ownerId: invocation.userId)
        else { return nil }
        let steps = try await database.records(AgentStep.self, "SELECT * FROM agent_steps WHERE invocation_id = ? ORDER BY id", [id])
        return (invocation, steps)
    }

    public func latestInvocation(threadId: Int64, viewer: Viewer) async throws -> (AgentInvocation, [AgentStep])? {
        guard let invocation = try await database.records(AgentInvocation.self, """
            SELECT * FROM agent_invocations WHERE thread_id = ? ORDER BY created_at DESC, id DESC LIMIT 1
            """, [threadId]).first, viewer.mayAccess(ownerId: invocation.userId)
        else { return nil }
        let steps = try await database.records(AgentStep.self, "SELECT * FROM agent_steps WHERE invocation_id = ? ORDER BY id",
                                               [invocation.id])
        return (invocation, steps)
    }

    public func invocations(_ query: InvocationListQuery, viewer: Viewer) async throws -> InvocationPage {
        let (sql, arguments) = query.statement(viewer: viewer)
        return try InvocationPage(rows: try await database.fetchAll(sql, arguments), limit: query.limit)
    }
}
