import GRDB

extension AppDatabase {
    /// The FTS5 table over chat prompts and responses.
    static let chatSearchTable = "workspace_chats_fts"

    /// Migrations of full-text search over chats (registered after the foundation's).
    static func registerSearchMigrations(_ migrator: inout DatabaseMigrator) {
        migrator.registerMigration("v3_chat_search") { db in
            // An external-content FTS5 index: the text lives once, in workspace_chats. GRDB creates
            // the insert/update/delete triggers that keep it in sync and rebuilds it from the rows
            // already there.
            try db.create(virtualTable: chatSearchTable, using: FTS5()) { t in
                t.synchronize(withTable: "workspace_chats")
                t.tokenizer = FTS5TokenizerDescriptor(components: ["porter", "unicode61", "remove_diacritics", "2"])
                t.column("prompt")
                t.column("response")
            }
            // Reindex only when the indexed text changes: feedback, include and status updates
            // must not rewrite the index.
            try db.execute(sql: """
                DROP TRIGGER "__\(chatSearchTable)_au";
                CREATE TRIGGER "__\(chatSearchTable)_au" AFTER UPDATE OF prompt, response ON workspace_chats
                WHEN old.prompt IS NOT new.prompt OR old.response IS NOT new.response BEGIN
                    INSERT INTO \(chatSearchTable)(\(chatSearchTable), rowid, prompt, response)
                        VALUES('delete', old.id, old.prompt, old.response);
                    INSERT INTO \(chatSearchTable)(rowid, prompt, response) VALUES (new.id, new.prompt, new.response);
                END;
                """)
            // Exports walk chats grouped by conversation in keyset chunks along this order.
            try db.execute(sql: """
                CREATE INDEX workspace_chats_by_export_order
                ON workspace_chats(workspace_id, IFNULL(thread_id, 0), id)
                """)
        }
    }

    /// The index a user's search reads their chats from (registered after every other migration).
    static func registerSearchOwnerMigrations(_ migrator: inout DatabaseMigrator) {
        migrator.registerMigration("search_v2_finished_by_owner") { db in
            // The ids of a user's finished chats, so a user's search intersects the index's matches with
            // their chats from this small index instead of reading the chat row of every match (most of
            // them other users'). Partial: the search's `status != 'streaming'` is part of the index.
            try db.execute(sql: """
                CREATE INDEX workspace_chats_finished_by_owner ON workspace_chats(user_id, id) WHERE status != 'streaming'
                """)
        }
    }
}
