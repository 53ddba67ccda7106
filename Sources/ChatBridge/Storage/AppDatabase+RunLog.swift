import GRDB

extension AppDatabase {
    /// The durable run log (PROTOCOL §8), and what an agent run needs to continue after a restart:
    /// its opening messages and each model step's tool calls.
    static func registerRunLogMigrations(_ migrator: inout DatabaseMigrator) {
        migrator.registerMigration("v6_run_log") { db in
            try db.create(table: "runs") { t in
                t.primaryKey("id", .text)
                t.column("kind", .text).notNull().check { ["chat", "agent"].contains($0) }
                t.column("workspace_id", .integer).notNull()
                t.column("user_id", .integer)
                t.column("frame_extra", .jsonText).notNull().defaults(to: "{}")
                t.column("room", .text)
                t.column("last_seq", .integer).notNull().defaults(to: -1)
                t.column("created_at", .datetime).notNull()
                t.column("ended_at", .datetime)
            }
            // Start-up repair looks for runs that never ended; retention for those that ended long ago.
            try db.create(index: "runs_by_end", on: "runs", columns: ["ended_at"])
            try db.create(table: "run_frames") { t in
                t.column("run_id", .text).notNull()
                t.column("first_seq", .integer).notNull()
                t.column("last_seq", .integer).notNull()
                t.column("body", .text).notNull()
                t.primaryKey(["run_id", "first_seq"])
            }
            try db.alter(table: "agent_invocations") { t in
                t.add(column: "context", .jsonText)
            }
            try db.alter(table: "agent_steps") { t in
                t.add(column: "tool_calls", .jsonText)
            }
        }
    }
}
