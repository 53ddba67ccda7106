import Foundation
import GRDB
import GRDBSQLite

/// The SQL of the filters search and export share, over `workspace_chats c`.
enum ChatFilterSQL {
    static func append(
        workspaceId: Int64?, threadId: Int64?, userId: Int64?, from: Date?, to: Date?, viewer: Viewer,
        to conditions: inout [String], _ arguments: inout StatementArguments
    ) {
        if let workspaceId {
            conditions.append("c.workspace_id = ?")
            arguments += [workspaceId]
        }
        if let threadId {
            conditions.append("c.thread_id = ?")
            arguments += [threadId]
        }
        if let from {
            conditions.append("c.created_at >= ?")
            arguments += [from]
        }
        if let to {
            conditions.append("c.created_at <= ?")
            arguments += [to]
        }
        if !viewer.isAdmin {
            // A user finds only their own chats, whatever else was asked.
            if let own = viewer.userId {
                conditions.append("c.user_id = ?")
                arguments += [own]
            } else {
                conditions.append("c.user_id IS NULL")
            }
        } else if let userId {
            conditions.append("c.user_id = ?")
            arguments += [userId]
        }
    }

    /// The chat columns, then `workspace_slug`, `thread_slug` and `username`, in the order ``entry(_:)``
    /// reads them by position: looking columns up by name lowercased every name on every row, a tenth
    /// of an export's time.
    static let selectEntries = """
        SELECT c.id, c.chat_uuid, c.workspace_id, c.thread_id, c.user_id, c.prompt, c.response, c.sources, c.attachments,
               c.feedback, c.include, c.api_session_id, c.mode, c.model, c.status, c.prompt_tokens, c.completion_tokens,
               c.error, c.created_at, c.updated_at, w.slug AS workspace_slug, t.slug AS thread_slug, u.username AS username
        FROM workspace_chats c
        JOIN workspaces w ON w.id = c.workspace_id
        LEFT JOIN threads t ON t.id = c.thread_id
        LEFT JOIN users u ON u.id = c.user_id
        """

    /// A row of ``selectEntries`` as ``Chat/init(row:)`` would read it (same values, same errors).
    /// Given the statement the row comes from, the two timestamps are read from its stored text
    /// (``Timestamp/storedDate(utf8:)``) instead of through GRDB's `Calendar`.
    static func entry(_ row: Row, statement: SQLiteStatement? = nil) throws -> ChatEntry {
        let statusValue: String = row[14]
        let modeValue: String = row[12]
        guard let status = Chat.Status(rawValue: statusValue), let mode = Workspace.ChatMode(rawValue: modeValue) else {
            throw DatabaseError(message: "workspace_chats row \(row[0] as Int64? ?? 0) has status '\(statusValue)', mode '\(modeValue)'")
        }
        let chat = Chat(
            id: row[0], chatUuid: row[1], workspaceId: row[2], threadId: row[3], userId: row[4], prompt: row[5], response: row[6],
            sources: try jsonList([ChatSource].self, row[7], column: "sources"),
            attachments: try jsonList([AttachmentInfo].self, row[8], column: "attachments"),
            feedback: row[9], include: row[10], apiSessionId: row[11], mode: mode, model: row[13], status: status,
            promptTokens: row[15], completionTokens: row[16], error: row[17], createdAt: storedDate(row, 18, statement), updatedAt: storedDate(row, 19, statement))
        return ChatEntry(chat: chat, workspaceSlug: row[20], threadSlug: row[21])
    }

    /// Column `index` of `row` as a `Date`, from the statement's text when it has the stored spelling,
    /// else through GRDB (the same value either way; any other form, and NULL, behave as `row[index]`).
    private static func storedDate(_ row: Row, _ index: Int32, _ statement: SQLiteStatement?) -> Date {
        if let statement, sqlite3_column_type(statement, index) == SQLITE_TEXT, let text = sqlite3_column_text(statement, index),
           let date = Timestamp.storedDate(utf8: UnsafeBufferPointer(start: text, count: Int(sqlite3_column_bytes(statement, index)))) {
            return date
        }
        return row[Int(index)]
    }

    /// The `username` of a row of ``selectEntries``.
    static func username(_ row: Row) -> String? { row[22] }

    /// A JSON list column; the empty list, what almost every chat holds, without a decoder.
    private static func jsonList<T: Decodable & RangeReplaceableCollection>(_ type: T.Type, _ text: String?, column: String) throws -> T {
        guard let text, text != "[]" else { return T() }
        return try Chat.databaseJSONDecoder(for: column).decode(type, from: Data(text.utf8))
    }
}
