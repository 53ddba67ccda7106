import ChatBridge

/// Tools that live outside AgentHost (MCP servers), offered to a workspace's agents beside the
/// built-in server tools. The engine is handed one source; it does not know what is behind it.
public protocol ExternalToolSource: Sendable {
    /// Every tool a run in `workspace` gets from this source, and why any part of it is unavailable.
    /// Never throws: an unreachable server is a failure in the listing, not a failed run.
    func tools(for workspace: Workspace) async -> ExternalToolListing

    /// Runs `tool` with `arguments` (already checked against its schema), for at most `timeout`.
    /// Never throws: failures, timeouts and cancellation are error results for the model.
    func call(_ tool: ExternalTool, arguments: JSONValue, workspace: Workspace, timeout: Duration) async -> ExternalToolResult
}

/// A tool of an external source, under the name the model sees.
public struct ExternalTool: Sendable, Equatable {
    /// `name` is `<server>__<tool>`, `executor` is `server`.
    public var spec: ToolSpec
    /// Where it comes from, as the tools listing shows it: `mcp:<server>`.
    public var source: String
    /// The server's name in the workspace configuration.
    public var server: String
    /// The tool's name on its server.
    public var remoteName: String

    public init(spec: ToolSpec, source: String, server: String, remoteName: String) {
        self.spec = spec
        self.source = source
        self.server = server
        self.remoteName = remoteName
    }
}

/// What a source offers a workspace, and the parts of it that failed to answer.
public struct ExternalToolListing: Sendable {
    public struct Failure: Sendable, Equatable {
        public var source: String
        public var message: String

        public init(source: String, message: String) {
            self.source = source
            self.message = message
        }
    }

    public var tools: [ExternalTool]
    public var failures: [Failure]

    public init(tools: [ExternalTool] = [], failures: [Failure] = []) {
        self.tools = tools
        self.failures = failures
    }
}

/// The outcome of an external call, as the model reads it.
public struct ExternalToolResult: Sendable, Equatable {
    public enum Failure: Sendable, Equatable {
        /// The time limit passed; the call was cancelled at its server.
        case timedOut
        /// The run was cancelled; the call was cancelled at its server.
        case cancelled
        /// The server failed to start or answer, or the tool reported an error.
        case failed
    }

    public var output: JSONValue
    /// `nil` for a success.
    public var failure: Failure?

    public init(output: JSONValue, failure: Failure? = nil) {
        self.output = output
        self.failure = failure
    }

    public var isError: Bool { failure != nil }
}

/// No external tools: the source of an engine whose server has no MCP client.
public struct NoExternalTools: ExternalToolSource {
    public init() {}

    public func tools(for workspace: Workspace) async -> ExternalToolListing { ExternalToolListing() }

    public func call(_ tool: ExternalTool, arguments: JSONValue, workspace: Workspace, timeout: Duration) async -> ExternalToolResult {
        ExternalToolResult(output: ["error": .string("Tool '\(tool.spec.name)' is not available.")], failure: .failed)
    }
}
