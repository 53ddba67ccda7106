import Foundation
import GRDB

/// What to export (`POST /api/chats/export/`, `agenthost export`).
public struct ExportFilter: Sendable, Equatable {
    public var workspaceId: Int64?
    public var threadId: Int64?
    /// Only this user's chats (administrators only; a user always exports their own).
    public var userId: Int64?
    public var from: Date?
    public var to: Date?
    /// Only chats rated up (`true`) or down (`false`).
    public var feedback: Bool?

    public init(workspaceId: Int64? = nil, threadId: Int64? = nil, userId: Int64? = nil, from: Date? = nil, to: Date? = nil,
                feedback: Bool? = nil) {
        self.workspaceId = workspaceId
        self.threadId = threadId
        self.userId = userId
        self.from = from
        self.to = to
        self.feedback = feedback
    }
}

/// Where an export continues: exports walk chats by workspace, then thread (the default thread first),
/// then id, so transcripts come out grouped by conversation.
public struct ExportPosition: Sendable, Equatable {
    public var workspaceId: Int64
    public var threadKey: Int64
    public var id: Int64

    init(_ chat: Chat) {
        workspaceId = chat.workspaceId
        threadKey = chat.threadId ?? 0
        id = chat.id ?? 0
    }
}

/// One exported chat: the chat, its workspace and thread slugs, and its user's name.
public struct ExportRecord: Sendable, Equatable {
    public var entry: ChatEntry
    public var username: String?

    public var chat: Chat { entry.chat }

    public init(entry: ChatEntry, username: String?) {
        self.entry = entry
        self.username = username
    }
}

/// Reads chats for export in chunks, so memory stays flat however many there are.
public protocol ChatExportSource: Sendable {
    /// How many chats the export will hold.
    func exportCount(_ filter: ExportFilter, viewer: Viewer) async throws -> Int
    /// Up to `limit` chats after `after` in export order (workspace, thread, id).
    func exportChunk(_ filter: ExportFilter, viewer: Viewer, after: ExportPosition?, limit: Int) async throws -> [ExportRecord]
}

extension SQLiteStore: ChatExportSource {
    public func exportCount(_ filter: ExportFilter, viewer: Viewer) async throws -> Int {
        let (conditions, arguments) = Self.exportConditions(filter, viewer: viewer)
        // Every chat the filters take, less the streaming ones among them. Counting `status != 'streaming'`
        // directly read every row of the table for its status (a full scan of a 1.6 GB table for a million
        // chats, 0.46 s); the total comes from an index, and the streaming chats (a handful) from their own
        // partial index. `status` is NOT NULL, so the difference is the same number.
        let filters = conditions.filter { $0 != Self.notStreaming }
        let all = "SELECT COUNT(*) FROM workspace_chats c" + (filters.isEmpty ? "" : " WHERE " + filters.joined(separator: " AND "))
        let streaming = "SELECT COUNT(*) FROM workspace_chats c INDEXED BY workspace_chats_streaming WHERE "
            + (["c.status = 'streaming'"] + filters).joined(separator: " AND ")
        return try await writer.read { db in
            try Int.fetchOne(db, sql: "SELECT (\(all)) - (\(streaming))", arguments: arguments + arguments) ?? 0
        }
    }

    public func exportChunk(_ filter: ExportFilter, viewer: Viewer, after: ExportPosition?, limit: Int) async throws -> [ExportRecord] {
        let (conditions, arguments) = Self.exportConditions(filter, viewer: viewer)
        // Each part is a straight range of the export index, read in its order (no sort), with its own
        // LIMIT. The row value `(workspace, thread, id) > (?, ?, ?)` would seek on the workspace only, so each
        // chunk would rescan its workspace from the start (quadratic over a big workspace); one UNION ALL of
        // the parts under an outer ORDER BY read all three parts in full and sorted their rows, texts and
        // all (three times the rows of a chunk, copied twice). The parts follow each other in export order,
        // so reading them one after another until the chunk is full gives the same rows in the same order.
        func part(_ extra: String?, orderBy: String) -> String {
            ChatFilterSQL.selectEntries + " WHERE " + (conditions + (extra.map { [$0] } ?? [])).joined(separator: " AND ")
                + " ORDER BY \(orderBy) LIMIT ?"
        }
        let parts: [(sql: String, arguments: StatementArguments)]
        if let after {
            parts = [
                (part("c.workspace_id = ? AND IFNULL(c.thread_id, 0) = ? AND c.id > ?", orderBy: "c.id"),
                 arguments + [after.workspaceId, after.threadKey, after.id]),
                (part("c.workspace_id = ? AND IFNULL(c.thread_id, 0) > ?", orderBy: "IFNULL(c.thread_id, 0), c.id"),
                 arguments + [after.workspaceId, after.threadKey]),
                (part("c.workspace_id > ?", orderBy: "c.workspace_id, IFNULL(c.thread_id, 0), c.id"), arguments + [after.workspaceId]),
            ]
        } else {
            parts = [(part(nil, orderBy: "c.workspace_id, IFNULL(c.thread_id, 0), c.id"), arguments)]
        }
        return try await writer.read { [parts] db in
            var records: [ExportRecord] = []
            records.reserveCapacity(limit)
            for part in parts where records.count < limit {
                // Cached: the same few statements serve every chunk of an export. A cursor decodes straight
                // from the statement, without copying each row first.
                let statement = try db.cachedStatement(sql: part.sql)
                let rows = try Row.fetchCursor(statement, arguments: part.arguments + [limit - records.count])
                while let row = try rows.next() {
                    records.append(ExportRecord(entry: try ChatFilterSQL.entry(row, statement: statement.sqliteStatement),
                                                username: ChatFilterSQL.username(row)))
                }
            }
            return records
        }
    }

    private static let notStreaming = "c.status != 'streaming'"

    private static func exportConditions(_ filter: ExportFilter, viewer: Viewer) -> ([String], StatementArguments) {
        var conditions = [notStreaming]
        var arguments: StatementArguments = []
        ChatFilterSQL.append(workspaceId: filter.workspaceId, threadId: filter.threadId, userId: filter.userId,
                             from: filter.from, to: filter.to, viewer: viewer, to: &conditions, &arguments)
        if let feedback = filter.feedback {
            conditions.append("c.feedback = ?")
            arguments += [feedback]
        }
        return (conditions, arguments)
    }
}
