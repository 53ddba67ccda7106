import GRDB

extension AppDatabase {
    /// Migrations of workspace documents and their chunks (registered after search's).
    static func registerDocumentMigrations(_ migrator: inout DatabaseMigrator) {
        migrator.registerMigration("v4_documents") { db in
            try db.create(table: "documents") { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("workspace_id", .integer).notNull().references("workspaces", onDelete: .cascade)
                // The owner (uploader); `nil` in single-user mode and for administrator API keys.
                t.column("user_id", .integer).references("users", onDelete: .setNull)
                t.column("name", .text).notNull()
                t.column("mime", .text).notNull()
                t.column("size", .integer).notNull()
                t.column("pinned", .boolean).notNull().defaults(to: false)
                t.column("text", .text).notNull()
                t.column("chunk_count", .integer).notNull().defaults(to: 0)
                t.column("created_at", .datetime).notNull()
                t.column("updated_at", .datetime).notNull()
            }
            try db.create(index: "documents_by_workspace", on: "documents", columns: ["workspace_id", "user_id", "id"])
            try db.create(table: "document_chunks") { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("document_id", .integer).notNull().references("documents", onDelete: .cascade)
                // Denormalised from the document so retrieval filters chunks without a join.
                t.column("workspace_id", .integer).notNull()
                t.column("position", .integer).notNull()
                t.column("heading", .text)
                t.column("text", .text).notNull()
                // Little-endian float32, L2-normalised; `nil` until embedded.
                t.column("embedding", .blob)
                t.column("embedding_model", .text)
            }
            try db.create(index: "document_chunks_by_document", on: "document_chunks", columns: ["document_id", "position"])
            try db.create(index: "document_chunks_by_workspace", on: "document_chunks", columns: ["workspace_id", "id"])
            // BM25 over chunk text, kept in sync with document_chunks by GRDB's triggers (also on cascade deletes).
            // No stemming tokenizer: queries match word prefixes of lightly stemmed terms, which
            // `LexicalQuery` can check in Swift exactly as SQLite does (for the 0–1 score).
            try db.create(virtualTable: "document_chunks_fts", using: FTS5()) { t in
                t.synchronize(withTable: "document_chunks")
                t.tokenizer = .unicode61()
                t.column("heading")
                t.column("text")
            }
            // A per-workspace counter bumped on every change of chunks or their vectors, so an
            // in-memory vector cache knows when to reload, whichever process wrote.
            try db.create(table: "document_index_revisions") { t in
                t.primaryKey("workspace_id", .integer)
                t.column("revision", .integer).notNull()
            }
            for (name, event, row) in [("ai", "INSERT", "NEW"), ("ad", "DELETE", "OLD"), ("au", "UPDATE OF embedding", "NEW")] {
                try db.execute(sql: """
                    CREATE TRIGGER document_chunks_revision_\(name) AFTER \(event) ON document_chunks BEGIN
                      INSERT INTO document_index_revisions(workspace_id, revision) VALUES (\(row).workspace_id, 1)
                        ON CONFLICT(workspace_id) DO UPDATE SET revision = revision + 1;
                    END
                    """)
            }
        }
    }

    /// Migrations of document retrieval registered after every other (see ``migrator``).
    static func registerDocumentCountMigrations(_ migrator: inout DatabaseMigrator) {
        migrator.registerMigration("documents_v2_chunk_counts") { db in
            // Retrieval sums a scope's `chunk_count` on every query. From the table that read each
            // document's row, whose full text sits before `chunk_count` in overflow pages: a thousand
            // documents made that sum most of a query (a read per overflow page). From this index it
            // reads no row.
            try db.execute(sql: "CREATE INDEX documents_chunk_counts ON documents(workspace_id, user_id, chunk_count)")
        }
    }
}
