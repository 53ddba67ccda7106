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
        try encodeColumns(to: &container)
    }

    private static func decodeJSON<T: Decodable>(_ type: T.Type, _ text: String?, column: String) throws -> T {
        try databaseJSONDecoder(for: column).decode(type, from: Data((text ?? "[]").utf8))
    }

    static func encodeJSON<Element: Encodable>(_ value: [Element], column: String) throws -> String {
        // Most chats have neither sources nor attachments: skip the encoder, whose output this is.
        if value.isEmpty { return "[]" }
        return String(decoding: try databaseJSONEncoder(for: column).encode(value), as: UTF8.self)
    }
}

extension Chat: PreparedInsertRecord {
    static let insertedColumns = [
        "chat_uuid", "workspace_id", "thread_id", "user_id", "prompt", "response", "sources", "attachments", "feedback",
        "include", "api_session_id", "mode", "model", "status", "prompt_tokens", "completion_tokens", "error",
        "created_at", "updated_at",
    ]
    static let insertSQL = makeInsertSQL(columns: insertedColumns)

    func insertedValues() throws -> [(any DatabaseValueConvertible)?] {
        [chatUuid, workspaceId, threadId, userId, prompt, response, try Self.encodeJSON(sources, column: "sources"),
         try Self.encodeJSON(attachments, column: "attachments"), feedback, include, apiSessionId, mode.rawValue, model,
         status.rawValue, promptTokens, completionTokens, error, StoredDate(createdAt), StoredDate(updatedAt)]
    }
}
