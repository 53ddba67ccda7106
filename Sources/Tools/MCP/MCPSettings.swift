import ChatBridge

/// How AgentHost runs the MCP servers workspaces configure (flags `--mcp-*`).
public struct MCPSettings: Sendable, Equatable {
    /// A server unused this long is stopped (stdio) or disconnected (http); the next use starts it again.
    public var idleStop: Duration = .seconds(300)
    /// Time limit of a tool call when the server's `timeout_ms` is not set.
    public var defaultTimeout: Duration = .seconds(60)
    /// Time limit of starting a server: spawn or connect, `initialize` and the first `tools/list`.
    public var startTimeout: Duration = .seconds(20)
    /// After a crash or a failed start, the next start waits 0.5 s, doubling up to this cap.
    public var restartBackoffCap: Duration = .seconds(30)
    /// Most servers one workspace may configure.
    public var maxServersPerWorkspace = MCPServerLimits.defaultMaxServersPerWorkspace

    public init() {}

    /// The bounds a workspace's `mcp_servers` is validated against.
    public var serverLimits: MCPServerLimits {
        MCPServerLimits(maxServersPerWorkspace: maxServersPerWorkspace)
    }

    static let firstBackoff: Duration = .milliseconds(500)
}
