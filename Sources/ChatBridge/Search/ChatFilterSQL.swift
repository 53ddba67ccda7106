import Foundation
import GRDB

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

    static let selectEntries = """
        SELECT c.*, w.slug AS workspace_slug, t.slug AS thread_slug, u.username AS username
        FROM workspace_chats c
        JOIN workspaces w ON w.id = c.workspace_id
        LEFT JOIN threads t ON t.id = c.thread_id
        LEFT JOIN users u ON u.id = c.user_id
        """

    static func entry(_ row: Row) throws -> ChatEntry {
        ChatEntry(chat: try Chat(row: row), workspaceSlug: row["workspace_slug"], threadSlug: row["thread_slug"])
    }
}
