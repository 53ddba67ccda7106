import Foundation
import GRDB

/// Export reads keyset chunks in export order (workspace, thread with the default thread first, id):
/// each chunk is one indexed range scan from the previous position, so memory stays flat and no
/// server-side cursor has to stay open between the chunks a slow client pulls.
extension PostgresStore: ChatExportSource {
    public func exportCount(_ filter: ExportFilter, viewer: Viewer) async throws -> Int {
        var statement = PostgresStatement("SELECT count(*) FROM workspace_chats c")
        Self.appendWhere(Self.exportConditions(filter, viewer: viewer), to: &statement)
        return try await database.fetchAll(statement).first.map { $0[0] as Int } ?? 0
    }

    public func exportChunk(_ filter: ExportFilter, viewer: Viewer, after: ExportPosition?, limit: Int) async throws -> [ExportRecord] {
        var conditions = Self.exportConditions(filter, viewer: viewer)
        if let after {
            // A row-value comparison over the export index's own expressions: one range scan.
            conditions.append(("(c.workspace_id, coalesce(c.thread_id, 0), c.id) > (?, ?, ?)",
                               [after.workspaceId, after.threadKey, after.id]))
        }
        var statement = PostgresStatement(Self.selectChatEntries)
        Self.appendWhere(conditions, to: &statement)
        statement.append(" ORDER BY c.workspace_id, coalesce(c.thread_id, 0), c.id LIMIT ?", [limit])
        return try await database.fetchAll(statement).map { row in
            ExportRecord(entry: try Self.chatEntry(row), username: row["username"])
        }
    }

    static func exportConditions(_ filter: ExportFilter, viewer: Viewer) -> [(String, [(any DatabaseValueConvertible)?])] {
        var conditions: [(String, [(any DatabaseValueConvertible)?])] = [("c.status <> 'streaming'", [])]
        conditions += filterConditions(workspaceId: filter.workspaceId, threadId: filter.threadId, userId: filter.userId,
                                       from: filter.from, to: filter.to, viewer: viewer)
        if let feedback = filter.feedback { conditions.append(("c.feedback = ?", [feedback])) }
        return conditions
    }

    /// The filters search and export share (as ``ChatFilterSQL`` for SQLite).
    static func filterConditions(workspaceId: Int64?, threadId: Int64?, userId: Int64?, from: Date?, to: Date?,
                                 viewer: Viewer) -> [(String, [(any DatabaseValueConvertible)?])] {
        var conditions: [(String, [(any DatabaseValueConvertible)?])] = []
        if let workspaceId { conditions.append(("c.workspace_id = ?", [workspaceId])) }
        if let threadId { conditions.append(("c.thread_id = ?", [threadId])) }
        if let from { conditions.append(("c.created_at >= ?", [from])) }
        if let to { conditions.append(("c.created_at <= ?", [to])) }
        // A user finds only their own chats, whatever else was asked.
        return conditions + restriction(viewer, requestedUserId: userId)
    }
}
