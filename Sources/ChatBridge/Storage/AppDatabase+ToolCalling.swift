import GRDB

extension AppDatabase {
    /// The workspace's tool-calling mode (registered after documents').
    static func registerToolCallingMigrations(_ migrator: inout DatabaseMigrator) {
        migrator.registerMigration("v5_workspace_tool_calling") { db in
            try db.alter(table: "workspaces") { t in
                // `NULL` uses the provider's mode.
                t.add(column: "tool_calling", .text).check { ["native", "prompted", "auto"].contains($0) }
            }
        }
    }
}
