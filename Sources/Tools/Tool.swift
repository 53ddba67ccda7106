import ChatBridge
import Foundation

/// Who runs a tool: AgentHost itself, or the client that declared it.
public enum ToolExecutor: String, Sendable, Codable, Equatable {
    case server
    case client
}

/// A tool as the model and the protocol see it (PROTOCOL §5).
public struct ToolSpec: Sendable, Equatable {
    public static let defaultTimeoutMilliseconds = 60_000

    public var name: String
    public var description: String
    /// JSON Schema of the arguments.
    public var parameters: JSONValue
    public var executor: ToolExecutor
    public var requiresApproval: Bool
    public var timeoutMilliseconds: Int?

    public init(name: String, description: String, parameters: JSONValue, executor: ToolExecutor,
                requiresApproval: Bool = false, timeoutMilliseconds: Int? = nil) {
        self.name = name
        self.description = description
        self.parameters = parameters
        self.executor = executor
        self.requiresApproval = requiresApproval
        self.timeoutMilliseconds = timeoutMilliseconds
    }

    /// What the model is told about the tool.
    public var definition: ToolDefinition {
        ToolDefinition(name: name, description: description, parameters: parameters)
    }

    /// The timeout that applies when none is set.
    public var effectiveTimeout: Duration {
        .milliseconds(timeoutMilliseconds ?? Self.defaultTimeoutMilliseconds)
    }
}

/// What a server tool may know and touch while it runs: the workspace and caller it acts for.
public struct ToolContext: Sendable {
    public var workspaceId: Int64
    public var viewer: Viewer
    public var chats: any ChatStore
    public var notes: any NoteStore
    /// The time the tool should consider "now" (injectable for tests).
    public var now: @Sendable () -> Date

    public init(workspaceId: Int64, viewer: Viewer, chats: any ChatStore, notes: any NoteStore,
                now: @escaping @Sendable () -> Date = { Date() }) {
        self.workspaceId = workspaceId
        self.viewer = viewer
        self.chats = chats
        self.notes = notes
        self.now = now
    }
}

/// A tool that runs inside AgentHost. Its schema lives in `tool-schemas/<name>.json`.
public protocol Tool: Sendable {
    /// Must equal the `name` of its schema file.
    var name: String { get }
    /// Runs the tool with arguments already validated against its schema. Throw ``ToolError`` for
    /// failures the model should read and act on.
    func run(arguments: JSONValue, context: ToolContext) async throws -> JSONValue
}

/// A failure a tool reports to the model as an error result (not a crash of the invocation).
public struct ToolError: Error, Sendable, Equatable, CustomStringConvertible {
    public var message: String

    public init(_ message: String) {
        self.message = message
    }

    public var description: String { message }
}
