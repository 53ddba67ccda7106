import Foundation
import GRDB
import Logging

/// Opens the SQLite database and keeps its schema current.
///
/// Production uses a `DatabasePool` in WAL mode so readers never wait for the writer; tests use an
/// in-memory `DatabaseQueue`. Both go through the same migrations.
public enum AppDatabase {
    /// Opens (creating if needed) `<directory>/agenthost.sqlite` in WAL mode and migrates it.
    public static func openPool(directory: URL, logger: Logger) throws -> DatabasePool {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let path = directory.appendingPathComponent("agenthost.sqlite").path
        let pool = try DatabasePool(path: path, configuration: configuration(logger: logger))
        // Some migrations rebuild an index over every chat (a minute for a million): say so before.
        let pending = try pendingMigrations(pool)
        guard !pending.isEmpty else { return pool }
        logger.info("applying database migrations", metadata: ["path": "\(path)", "migrations": "\(pending.joined(separator: ","))"])
        let started = ContinuousClock.now
        try migrate(pool)
        logger.info("database migrations applied", metadata: ["took": "\(started.duration(to: .now))"])
        return pool
    }

    /// An empty, migrated in-memory database for tests.
    public static func inMemory() throws -> DatabaseQueue {
        let queue = try DatabaseQueue(configuration: configuration(logger: nil))
        try migrate(queue)
        return queue
    }

    static func configuration(logger: Logger?) -> Configuration {
        var configuration = Configuration()
        configuration.foreignKeysEnabled = true
        // Writers wait for each other instead of failing with SQLITE_BUSY (CLI and server share the file).
        configuration.busyMode = .timeout(10)
        configuration.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = NORMAL")
            // 8 MiB of page cache per connection instead of 2: search and export touch scattered pages of
            // a large file, and re-reading them through the OS costs a system call each (measured 4x).
            try db.execute(sql: "PRAGMA cache_size = -8192")
            FTS5Ranking.register(in: db)
        }
        return configuration
    }

    /// Applies every migration not yet applied. Safe to run again.
    public static func migrate(_ writer: some DatabaseWriter) throws {
        try migrator.migrate(writer)
    }

    /// Names of migrations the database has not applied yet.
    public static func pendingMigrations(_ writer: some DatabaseWriter) throws -> [String] {
        let applied = try writer.read { db in try migrator.appliedIdentifiers(db) }
        return migrator.migrations.filter { !applied.contains($0) }
    }

    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1_foundation", migrate: createFoundationSchema)
        migrator.registerMigration("v2_workspace_notes") { db in
            try db.create(table: "workspace_notes") { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("workspace_id", .integer).notNull().references("workspaces", onDelete: .cascade)
                t.column("user_id", .integer).references("users", onDelete: .cascade)
                t.column("title", .text).notNull()
                t.column("content", .text).notNull()
                t.column("created_at", .datetime).notNull()
            }
            try db.create(index: "workspace_notes_by_owner", on: "workspace_notes", columns: ["workspace_id", "user_id", "id"])
        }
        registerSearchMigrations(&migrator)
        registerDocumentMigrations(&migrator)
        registerToolCallingMigrations(&migrator)
        registerRunLogMigrations(&migrator)
        registerMCPMigrations(&migrator)
        registerSearchOwnerMigrations(&migrator)
        registerDocumentCountMigrations(&migrator)
        registerSearchOwnerTokenMigrations(&migrator)
        registerSearchFinishedChatsMigrations(&migrator)
        return migrator
    }

    private static func createFoundationSchema(_ db: Database) throws {
        try db.create(table: "users") { t in
            t.autoIncrementedPrimaryKey("id")
            t.column("username", .text).notNull().unique(onConflict: .abort).collate(.nocase)
            t.column("password_hash", .text).notNull()
            t.column("role", .text).notNull().check { ["admin", "default"].contains($0) }
            t.column("daily_message_limit", .integer)
            t.column("suspended", .boolean).notNull().defaults(to: false)
            t.column("created_at", .datetime).notNull()
            t.column("updated_at", .datetime).notNull()
        }
        try db.create(table: "api_keys") { t in
            t.autoIncrementedPrimaryKey("id")
            t.column("name", .text).notNull()
            t.column("prefix", .text).notNull()
            t.column("secret_hash", .text).notNull().unique()
            t.column("user_id", .integer).references("users", onDelete: .cascade)
            t.column("created_at", .datetime).notNull()
            t.column("last_used_at", .datetime)
            t.column("revoked_at", .datetime)
        }
        try db.create(table: "workspaces") { t in
            t.autoIncrementedPrimaryKey("id")
            t.column("name", .text).notNull()
            t.column("slug", .text).notNull().unique()
            t.column("chat_mode", .text).notNull().defaults(to: "chat")
            t.column("system_prompt", .text)
            t.column("history_length", .integer).notNull().defaults(to: Workspace.defaultHistoryLength)
            t.column("query_refusal_response", .text).notNull()
            t.column("provider", .text)
            t.column("model", .text)
            t.column("temperature", .double)
            t.column("agent_max_steps", .integer).notNull().defaults(to: Workspace.defaultAgentMaxSteps)
            t.column("agent_tools", .jsonText)
            t.column("top_n", .integer).notNull().defaults(to: 4)
            t.column("similarity_threshold", .double).notNull().defaults(to: 0.25)
            t.column("created_at", .datetime).notNull()
            t.column("updated_at", .datetime).notNull()
        }
        try db.create(table: "threads") { t in
            t.autoIncrementedPrimaryKey("id")
            t.column("workspace_id", .integer).notNull().references("workspaces", onDelete: .cascade)
            t.column("user_id", .integer).references("users", onDelete: .cascade)
            t.column("name", .text).notNull()
            t.column("slug", .text).notNull()
            t.column("created_at", .datetime).notNull()
            t.column("updated_at", .datetime).notNull()
            t.uniqueKey(["workspace_id", "slug"])
        }
        try db.create(table: "workspace_chats") { t in
            t.autoIncrementedPrimaryKey("id")
            t.column("chat_uuid", .text).notNull().unique()
            t.column("workspace_id", .integer).notNull().references("workspaces", onDelete: .cascade)
            t.column("thread_id", .integer).references("threads", onDelete: .cascade)
            t.column("user_id", .integer).references("users", onDelete: .setNull)
            t.column("prompt", .text).notNull()
            t.column("response", .text).notNull().defaults(to: "")
            t.column("sources", .jsonText).notNull().defaults(to: "[]")
            t.column("attachments", .jsonText).notNull().defaults(to: "[]")
            t.column("feedback", .boolean)
            t.column("include", .boolean).notNull().defaults(to: true)
            t.column("api_session_id", .text)
            t.column("mode", .text).notNull().defaults(to: "chat")
            t.column("model", .text)
            t.column("status", .text).notNull().defaults(to: "completed")
            t.column("prompt_tokens", .integer)
            t.column("completion_tokens", .integer)
            t.column("error", .text)
            t.column("created_at", .datetime).notNull()
            t.column("updated_at", .datetime).notNull()
        }
        // The list and history queries walk these newest-first by id within their filters.
        try db.create(index: "workspace_chats_by_conversation", on: "workspace_chats",
                      columns: ["workspace_id", "thread_id", "user_id", "id"])
        try db.create(index: "workspace_chats_by_user", on: "workspace_chats", columns: ["user_id", "id"])
        try db.create(index: "workspace_chats_by_user_day", on: "workspace_chats", columns: ["user_id", "created_at"])
        try db.create(index: "workspace_chats_by_session", on: "workspace_chats", columns: ["api_session_id", "id"])

        try db.create(table: "welcome_messages") { t in
            t.autoIncrementedPrimaryKey("id")
            t.column("user_id", .integer).references("users", onDelete: .cascade)
            t.column("user_message", .text)
            t.column("response", .text).notNull()
            t.column("order_index", .integer).notNull().defaults(to: 0)
            t.column("created_at", .datetime).notNull()
        }
        try db.create(table: "event_logs") { t in
            t.autoIncrementedPrimaryKey("id")
            t.column("event", .text).notNull().indexed()
            t.column("workspace_id", .integer)
            t.column("user_id", .integer)
            t.column("chat_id", .integer)
            t.column("metadata", .jsonText).notNull().defaults(to: "{}")
            t.column("created_at", .datetime).notNull()
        }
        try db.create(table: "agent_invocations") { t in
            t.primaryKey("id", .text)
            t.column("workspace_id", .integer).notNull().references("workspaces", onDelete: .cascade)
            t.column("thread_id", .integer).references("threads", onDelete: .setNull)
            t.column("user_id", .integer).references("users", onDelete: .setNull)
            t.column("request_id", .text)
            t.column("message", .text).notNull()
            t.column("status", .text).notNull()
            t.column("response", .text).notNull().defaults(to: "")
            t.column("chat_id", .integer).references("workspace_chats", onDelete: .setNull)
            t.column("steps", .integer).notNull().defaults(to: 0)
            t.column("max_steps", .integer).notNull()
            t.column("client_tools", .jsonText).notNull().defaults(to: "[]")
            t.column("prompt_tokens", .integer).notNull().defaults(to: 0)
            t.column("completion_tokens", .integer).notNull().defaults(to: 0)
            t.column("error", .text)
            t.column("created_at", .datetime).notNull()
            t.column("finished_at", .datetime)
        }
        try db.create(index: "agent_invocations_by_user", on: "agent_invocations", columns: ["user_id", "created_at"])
        try db.create(table: "agent_steps") { t in
            t.autoIncrementedPrimaryKey("id")
            t.column("invocation_id", .text).notNull().references("agent_invocations", onDelete: .cascade)
            t.column("step", .integer).notNull()
            // "llm" for a model turn, "tool" for one tool call and its result.
            t.column("kind", .text).notNull()
            t.column("call_id", .text)
            t.column("name", .text)
            t.column("executor", .text)
            t.column("arguments", .jsonText)
            t.column("output", .jsonText)
            t.column("is_error", .boolean)
            t.column("text", .text)
            t.column("prompt_tokens", .integer)
            t.column("completion_tokens", .integer)
            t.column("started_at", .datetime).notNull()
            t.column("duration_ms", .double)
        }
        try db.create(index: "agent_steps_by_invocation", on: "agent_steps", columns: ["invocation_id", "id"])
    }
}
