import GRDB

extension AppDatabase {
    /// The workspace's MCP servers (PROTOCOL §10), registered after the run log's migrations.
    static func registerMCPMigrations(_ migrator: inout DatabaseMigrator) {
        migrator.registerMigration("mcp_v1_workspace_servers") { db in
            try db.alter(table: "workspaces") { t in
                // JSON array of MCPServerConfiguration; `NULL` when the workspace has none.
                t.add(column: "mcp_servers", .jsonText)
            }
        }
    }
}
