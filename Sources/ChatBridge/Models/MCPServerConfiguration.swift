import Foundation

/// One Model Context Protocol server a workspace takes tools from (PROTOCOL §10): spawned as a
/// child process speaking stdio, or reached over streamable HTTP. Stored with the workspace;
/// `env` and `headers` values are secrets and are masked whenever a workspace is shown.
public struct MCPServerConfiguration: Codable, Sendable, Equatable, Hashable {
    public enum Transport: String, Codable, Sendable, CaseIterable {
        case stdio
        case http
    }

    /// `[a-z0-9_-]`, unique in the workspace; the prefix of its tools' names (`<name>__<tool>`).
    public var name: String
    public var transport: Transport
    /// stdio: the program to run (looked up on `PATH`) and its arguments.
    public var command: String?
    public var args: [String]?
    /// stdio: the child's environment besides `PATH`, `HOME` and `LANG` (AgentHost's own is not passed on).
    public var env: [String: String]?
    /// http: the server's MCP endpoint (`http://` or `https://`).
    public var url: String?
    /// http: sent with every request, e.g. `Authorization`.
    public var headers: [String: String]?
    /// Allow-list of the server's tool names (without the prefix); `nil` offers every tool.
    public var tools: [String]?
    /// Every tool of this server waits for the user's approval before it runs.
    public var requiresApproval: Bool?
    /// Per-call time limit; `nil` uses the server-wide default (`--mcp-timeout-ms`).
    public var timeoutMs: Int?

    public init(name: String, transport: Transport, command: String? = nil, args: [String]? = nil,
                env: [String: String]? = nil, url: String? = nil, headers: [String: String]? = nil,
                tools: [String]? = nil, requiresApproval: Bool? = nil, timeoutMs: Int? = nil) {
        self.name = name
        self.transport = transport
        self.command = command
        self.args = args
        self.env = env
        self.url = url
        self.headers = headers
        self.tools = tools
        self.requiresApproval = requiresApproval
        self.timeoutMs = timeoutMs
    }
}
