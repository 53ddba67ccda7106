import ArgumentParser
import Tools

/// How the server runs the MCP servers workspaces configure (PROTOCOL §10).
struct MCPOptions: ParsableArguments {
    @Option(name: .customLong("mcp-idle-stop"), help: "Seconds an MCP server may go unused before it is stopped (started again on next use). Env: AGENTHOST_MCP_IDLE_STOP. Default: 300")
    var idleStop: Int?

    @Option(name: .customLong("mcp-timeout-ms"), help: "Time limit of an MCP tool call when its server sets no timeout_ms. Env: AGENTHOST_MCP_TIMEOUT_MS. Default: 60000")
    var timeoutMilliseconds: Int?

    @Option(name: .customLong("mcp-start-timeout"), help: "Seconds an MCP server has to start and list its tools. Env: AGENTHOST_MCP_START_TIMEOUT. Default: 20")
    var startTimeout: Int?

    @Option(name: .customLong("mcp-restart-backoff-cap"), help: "Longest wait, in seconds, before an MCP server that crashed or failed to start is started again (0.5 s doubling up to this). Env: AGENTHOST_MCP_RESTART_BACKOFF_CAP. Default: 30")
    var restartBackoffCap: Int?

    @Option(name: .customLong("mcp-max-servers"), help: "MCP servers one workspace may configure. Env: AGENTHOST_MCP_MAX_SERVERS. Default: 8")
    var maxServers: Int?

    /// Flags first, then the environment, then the defaults of ``MCPSettings``.
    func settings() throws -> MCPSettings {
        var settings = MCPSettings()
        if let value = try Environment.integer(idleStop, "AGENTHOST_MCP_IDLE_STOP", in: 1...86_400) { settings.idleStop = .seconds(value) }
        if let value = try Environment.integer(timeoutMilliseconds, "AGENTHOST_MCP_TIMEOUT_MS", in: 1...3_600_000) {
            settings.defaultTimeout = .milliseconds(value)
        }
        if let value = try Environment.integer(startTimeout, "AGENTHOST_MCP_START_TIMEOUT", in: 1...600) { settings.startTimeout = .seconds(value) }
        if let value = try Environment.integer(restartBackoffCap, "AGENTHOST_MCP_RESTART_BACKOFF_CAP", in: 1...3600) {
            settings.restartBackoffCap = .seconds(value)
        }
        if let value = try Environment.integer(maxServers, "AGENTHOST_MCP_MAX_SERVERS", in: 0...64) { settings.maxServersPerWorkspace = value }
        return settings
    }
}
