import Foundation
import GRDB

/// Explicit column mapping for `runs`, written for every chat generation and agent invocation:
/// it writes exactly what GRDB's `Codable` mapping wrote (the kind as its raw value, `frame_extra`
/// as the JSON text of ``JSONValue``, dates as GRDB's text through ``StoredDate``) without a keyed
/// container and a `DateFormatter` per run.
extension RunRecord {
    public func encode(to container: inout PersistenceContainer) throws {
        container["id"] = id
        container["kind"] = kind.rawValue
        container["workspace_id"] = workspaceId
        container["user_id"] = userId
        container["frame_extra"] = frameExtra
        container["room"] = room
        container["last_seq"] = lastSeq
        container["created_at"] = StoredDate(createdAt)
        container["ended_at"] = endedAt.map(StoredDate.init)
    }
}
