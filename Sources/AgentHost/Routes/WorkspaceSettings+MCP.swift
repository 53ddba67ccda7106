import ChatBridge

extension WorkspaceSettings {
    /// Applies `mcp_servers` when it was sent: validated against `limits`, with secrets sent back
    /// masked replaced by the stored ones. `null` or `[]` removes every server.
    func applyMCPServers(to workspace: inout Workspace, limits: MCPServerLimits) throws {
        switch mcpServers {
        case .absent:
            return
        case .null:
            workspace.mcpServers = nil
        case .value(let servers):
            let checked = try MCPServerConfiguration.validated(servers, current: workspace.mcpServers, limits: limits)
            workspace.mcpServers = checked.isEmpty ? nil : checked
        }
    }
}
