import Foundation
import GRDB

/// Filters of `GET /api/agent/invocations/`.
public struct InvocationListQuery: Sendable, Equatable {
    public var workspaceId: Int64?
    public var threadId: Int64?
    public var userId: Int64?
    public var status: AgentInvocation.Status?
    public var limit: Int
    /// Only runs older than this position (the keyset cursor of the previous page).
    public var before: InvocationListPosition?

    public init(workspaceId: Int64? = nil, threadId: Int64? = nil, userId: Int64? = nil,
                status: AgentInvocation.Status? = nil, limit: Int = 50, before: InvocationListPosition? = nil) {
        self.workspaceId = workspaceId
        self.threadId = threadId
        self.userId = userId
        self.status = status
        self.limit = limit
        self.before = before
    }
}

/// A run's place in the newest-first order: its creation time, ties broken by id (ids are UUIDs,
/// so two runs started in the same millisecond still have a strict order).
public struct InvocationListPosition: Sendable, Equatable {
    public var createdAt: Date
    public var id: String

    public init(createdAt: Date, id: String) {
        self.createdAt = createdAt
        self.id = id
    }
}

/// A stored run with the slugs of its workspace and thread, as the list shows it.
public struct InvocationEntry: Sendable, Equatable {
    public var invocation: AgentInvocation
    public var workspaceSlug: String
    public var threadSlug: String?
}

/// One page of runs, newest first, with the position to continue from.
public struct InvocationPage: Sendable, Equatable {
    public var invocations: [InvocationEntry]
    /// The last run on this page when more may follow.
    public var next: InvocationListPosition?
}

extension InvocationListQuery {
    /// The list's query for `viewer`, the same SQL on both backends: newest first, owner-scoped like
    /// chats (a user sees their own runs, admins everyone's or one user's on request), one row more
    /// than a page to tell whether another follows.
    func statement(viewer: Viewer) -> (sql: String, arguments: [(any DatabaseValueConvertible)?]) {
        var conditions: [String] = []
        var arguments: [(any DatabaseValueConvertible)?] = []
        if let workspaceId {
            conditions.append("i.workspace_id = ?")
            arguments.append(workspaceId)
        }
        if let threadId {
            conditions.append("i.thread_id = ?")
            arguments.append(threadId)
        }
        if let status {
            conditions.append("i.status = ?")
            arguments.append(status.rawValue)
        }
        if let before {
            conditions.append("(i.created_at < ? OR (i.created_at = ? AND i.id < ?))")
            arguments += [before.createdAt, before.createdAt, before.id]
        }
        if !viewer.isAdmin {
            conditions.append(viewer.userId == nil ? "i.user_id IS NULL" : "i.user_id = ?")
            if let userId = viewer.userId { arguments.append(userId) }
        } else if let userId {
            conditions.append("i.user_id = ?")
            arguments.append(userId)
        }
        var sql = """
            SELECT i.*, w.slug AS workspace_slug, t.slug AS thread_slug
            FROM agent_invocations i
            JOIN workspaces w ON w.id = i.workspace_id
            LEFT JOIN threads t ON t.id = i.thread_id
            """
        if !conditions.isEmpty { sql += " WHERE " + conditions.joined(separator: " AND ") }
        sql += " ORDER BY i.created_at DESC, i.id DESC LIMIT \(limit + 1)"
        return (sql, arguments)
    }
}

extension InvocationPage {
    /// The page of `rows` (up to `limit + 1` of ``InvocationListQuery/statement(viewer:)``).
    init(rows: [Row], limit: Int) throws {
        var entries = try rows.map { row in
            InvocationEntry(invocation: try AgentInvocation(row: row), workspaceSlug: row["workspace_slug"],
                            threadSlug: row["thread_slug"])
        }
        var next: InvocationListPosition?
        if entries.count > limit {
            entries.removeLast()
            next = entries.last.map { InvocationListPosition(createdAt: $0.invocation.createdAt, id: $0.invocation.id) }
        }
        self.init(invocations: entries, next: next)
    }
}

extension SQLiteStore {
    public func invocations(_ query: InvocationListQuery, viewer: Viewer) async throws -> InvocationPage {
        let (sql, arguments) = query.statement(viewer: viewer)
        let bound = StatementArguments(arguments)
        let limit = query.limit
        // Built inside the read: rows are not Sendable, and returning them picked GRDB's blocking
        // `read` (on a cooperative thread) over the async one.
        return try await writer.read { db in try InvocationPage(rows: Row.fetchAll(db, sql: sql, arguments: bound), limit: limit) }
    }
}
