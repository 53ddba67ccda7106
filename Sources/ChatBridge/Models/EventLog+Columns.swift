import Foundation
import GRDB

/// Explicit column mapping for `event_logs`, written for every answer: GRDB's `Codable` encoder
/// (a keyed container and a snake_case conversion per property) and its `DateFormatter` were most
/// of the event's insert. It writes exactly what the `Codable` mapping wrote: `metadata` as the JSON
/// of ``EncodableRecord/databaseJSONEncoder(for:)``, the date as GRDB's text (``StoredDate``).
extension EventLog {
    public func encode(to container: inout PersistenceContainer) throws {
        container["id"] = id
        container["event"] = event
        container["workspace_id"] = workspaceId
        container["user_id"] = userId
        container["chat_id"] = chatId
        container["metadata"] = String(decoding: try Self.databaseJSONEncoder(for: "metadata").encode(metadata), as: UTF8.self)
        container["created_at"] = StoredDate(createdAt)
    }
}
