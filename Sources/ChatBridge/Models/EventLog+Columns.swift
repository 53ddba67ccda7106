import Foundation
import GRDB

/// Explicit column mapping for `event_logs`, written for every answer: GRDB's `Codable` encoder
/// (a keyed container and a snake_case conversion per property) and its `DateFormatter` were most
/// of the event's insert. It writes exactly what the `Codable` mapping wrote: `metadata` as the JSON
/// of ``EncodableRecord/databaseJSONEncoder(for:)``, the date as GRDB's text (``StoredDate``).
extension EventLog {
    public func encode(to container: inout PersistenceContainer) throws {
        try encodeColumns(to: &container)
    }
}

extension EventLog: PreparedInsertRecord {
    static let insertedColumns = ["event", "workspace_id", "user_id", "chat_id", "metadata", "created_at"]
    static let insertSQL = makeInsertSQL(columns: insertedColumns)

    func insertedValues() throws -> [(any DatabaseValueConvertible)?] {
        [event, workspaceId, userId, chatId,
         String(decoding: try Self.databaseJSONEncoder(for: "metadata").encode(metadata), as: UTF8.self), StoredDate(createdAt)]
    }
}
