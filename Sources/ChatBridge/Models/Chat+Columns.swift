import Foundation
import GRDB

/// Explicit column mapping for `workspace_chats`. The Codable mapping with snake_case key conversion
/// was the largest cost of storing and reading chats (every answer, history page and export row);
/// this writes exactly what it wrote: enums as raw values, `sources` and `attachments` as the JSON
/// of ``EncodableRecord/databaseJSONEncoder(for:)``, dates as GRDB's text (``StoredDate``).
extension Chat {
    public init(row: Row) throws {
        let statusValue: String = row["status"]
        let modeValue: String = row["mode"]
        guard let status = Status(rawValue: statusValue), let mode = Workspace.ChatMode(rawValue: modeValue) else {
            throw DatabaseError(message: "workspace_chats row \(row["id"] as Int64? ?? 0) has status '\(statusValue)', mode '\(modeValue)'")
        }
        self.init(
            id: row["id"], chatUuid: row["chat_uuid"], workspaceId: row["workspace_id"], threadId: row["thread_id"],
            userId: row["user_id"], prompt: row["prompt"], response: row["response"],
            sources: try Self.decodeJSON([ChatSource].self, row["sources"], column: "sources"),
            attachments: try Self.decodeJSON([AttachmentInfo].self, row["attachments"], column: "attachments"),
            feedback: row["feedback"], include: row["include"], apiSessionId: row["api_session_id"], mode: mode,
            model: row["model"], status: status, promptTokens: row["prompt_tokens"], completionTokens: row["completion_tokens"],
            error: row["error"], createdAt: row["created_at"], updatedAt: row["updated_at"])
    }

    public func encode(to container: inout PersistenceContainer) throws {
        container["id"] = id
        container["chat_uuid"] = chatUuid
        container["workspace_id"] = workspaceId
        container["thread_id"] = threadId
        container["user_id"] = userId
        container["prompt"] = prompt
        container["response"] = response
        container["sources"] = try Self.encodeJSON(sources, column: "sources")
        container["attachments"] = try Self.encodeJSON(attachments, column: "attachments")
        container["feedback"] = feedback
        container["include"] = include
        container["api_session_id"] = apiSessionId
        container["mode"] = mode.rawValue
        container["model"] = model
        container["status"] = status.rawValue
        container["prompt_tokens"] = promptTokens
        container["completion_tokens"] = completionTokens
        container["error"] = error
        container["created_at"] = StoredDate(createdAt)
        container["updated_at"] = StoredDate(updatedAt)
    }

    private static func decodeJSON<T: Decodable>(_ type: T.Type, _ text: String?, column: String) throws -> T {
        try databaseJSONDecoder(for: column).decode(type, from: Data((text ?? "[]").utf8))
    }

    private static func encodeJSON<Element: Encodable>(_ value: [Element], column: String) throws -> String {
        // Most chats have neither sources nor attachments: skip the encoder, whose output this is.
        if value.isEmpty { return "[]" }
        return String(decoding: try databaseJSONEncoder(for: column).encode(value), as: UTF8.self)
    }
}
