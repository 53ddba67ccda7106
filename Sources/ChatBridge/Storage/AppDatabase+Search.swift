import GRDB

extension AppDatabase {
    /// The FTS5 table over chat prompts and responses, and since `search_v3_owner_tokens` their owner.
    static let chatSearchTable = "workspace_chats_fts"
    /// The columns of ``chatSearchTable`` a query's words are looked for in; the third, `user_id`, holds
    /// the owner's id as a token, for the owner filter only.
    static let chatSearchTextColumns = ["prompt", "response"]
    /// The tokenizer of ``chatSearchTable`` (`search_v4_finished_chats_only` names it in its SQL): search
    /// excerpts tokenize a hit's text with it to find what the index matched.
    static let chatSearchTokenizer = FTS5TokenizerDescriptor(components: ["porter", "unicode61", "remove_diacritics", "2"])

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

    /// The owner in the search index (registered after every other migration).
    static func registerSearchOwnerTokenMigrations(_ migrator: inout DatabaseMigrator) {
        migrator.registerMigration("search_v3_owner_tokens") { db in
            // The owner's id as a third, tokenized column: a user's search matches `… AND user_id : "7"`,
            // and FTS5 intersects the two lists of rows itself, skipping other users' chats, where checking
            // the owner of each match outside the index walked tens of thousands of other users' matches
            // for a common word. Ranks are unchanged: `agenthost_bm25` counts the text columns only, and a
            // query's words are matched in the text columns only. Re-indexes every chat (about 45 s of CPU
            // per million chats), once.
            try db.execute(sql: """
                DROP TRIGGER "__\(chatSearchTable)_ai";
                DROP TRIGGER "__\(chatSearchTable)_ad";
                DROP TRIGGER "__\(chatSearchTable)_au";
                DROP TABLE \(chatSearchTable);
                """)
            try db.create(virtualTable: chatSearchTable, using: FTS5()) { t in
                t.synchronize(withTable: "workspace_chats")
                t.tokenizer = FTS5TokenizerDescriptor(components: ["porter", "unicode61", "remove_diacritics", "2"])
                t.column("prompt")
                t.column("response")
                t.column("user_id")
            }
            // As in v3_chat_search: reindex only when an indexed value changes (feedback, include and status
            // updates must not rewrite the index). A deleted user's chats get `user_id` NULL through the
            // foreign key, which runs this trigger too.
            try db.execute(sql: """
                DROP TRIGGER "__\(chatSearchTable)_au";
                CREATE TRIGGER "__\(chatSearchTable)_au" AFTER UPDATE OF prompt, response, user_id ON workspace_chats
                WHEN old.prompt IS NOT new.prompt OR old.response IS NOT new.response OR old.user_id IS NOT new.user_id BEGIN
                    INSERT INTO \(chatSearchTable)(\(chatSearchTable), rowid, prompt, response, user_id)
                        VALUES('delete', old.id, old.prompt, old.response, old.user_id);
                    INSERT INTO \(chatSearchTable)(rowid, prompt, response, user_id)
                        VALUES (new.id, new.prompt, new.response, new.user_id);
                END;
                """)
            // The few chats still streaming, which search leaves out: checking the candidates against this
            // list reads no chat row, where joining each candidate's row (scattered pages of a large table,
            // one read each) was most of a search for a mid-frequency word.
            try db.execute(sql: "CREATE INDEX workspace_chats_streaming ON workspace_chats(id) WHERE status = 'streaming'")
            // The owner filter happens in the index now; this index served only the search plan it replaces.
            try db.execute(sql: "DROP INDEX IF EXISTS workspace_chats_finished_by_owner")
        }
    }
}

extension AppDatabase {
    /// What the chat search index holds: chats that have stopped streaming.
    static let finishedChatsView = "workspace_chats_finished"

    /// Only finished chats in the search index (registered after every other migration).
    static func registerSearchFinishedChatsMigrations(_ migrator: inout DatabaseMigrator) {
        migrator.registerMigration("search_v4_finished_chats_only") { db in
            // Search leaves streaming chats out, yet every chat was indexed twice: its prompt when it
            // began (on the way to the model, before the first token) and again, prompt and answer,
            // when it finished, after taking the first entry out. Now a chat enters the index once,
            // when it stops streaming. The index's content is a view of the finished chats, so what
            // FTS5 reads back (snippets, 'rebuild', the integrity check) is exactly what was indexed.
            // Re-indexes every finished chat, once (as `search_v3_owner_tokens` did).
            let table = chatSearchTable
            try db.execute(sql: """
                DROP TRIGGER "__\(table)_ai";
                DROP TRIGGER "__\(table)_ad";
                DROP TRIGGER "__\(table)_au";
                DROP TABLE \(table);
                CREATE VIEW \(finishedChatsView) AS
                    SELECT id, prompt, response, user_id FROM workspace_chats WHERE status != 'streaming';
                CREATE VIRTUAL TABLE \(table) USING fts5(
                    prompt, response, user_id, tokenize='porter unicode61 remove_diacritics 2',
                    content='\(finishedChatsView)', content_rowid='id');
                INSERT INTO \(table)(\(table)) VALUES('rebuild');
                CREATE TRIGGER "__\(table)_ai" AFTER INSERT ON workspace_chats WHEN new.status != 'streaming' BEGIN
                    INSERT INTO \(table)(rowid, prompt, response, user_id) VALUES (new.id, new.prompt, new.response, new.user_id);
                END;
                CREATE TRIGGER "__\(table)_ad" AFTER DELETE ON workspace_chats WHEN old.status != 'streaming' BEGIN
                    INSERT INTO \(table)(\(table), rowid, prompt, response, user_id)
                        VALUES('delete', old.id, old.prompt, old.response, old.user_id);
                END;
                CREATE TRIGGER "__\(table)_au" AFTER UPDATE OF prompt, response, user_id, status ON workspace_chats
                WHEN old.prompt IS NOT new.prompt OR old.response IS NOT new.response OR old.user_id IS NOT new.user_id
                    OR (old.status = 'streaming') != (new.status = 'streaming') BEGIN
                    INSERT INTO \(table)(\(table), rowid, prompt, response, user_id)
                        SELECT 'delete', old.id, old.prompt, old.response, old.user_id WHERE old.status != 'streaming';
                    INSERT INTO \(table)(rowid, prompt, response, user_id)
                        SELECT new.id, new.prompt, new.response, new.user_id WHERE new.status != 'streaming';
                END;
                """)
        }
    }
}
