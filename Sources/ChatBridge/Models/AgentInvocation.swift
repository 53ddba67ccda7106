import Foundation
import GRDB

/// One agent run: its request, where it stands and what it produced.
public struct AgentInvocation: Codable, Sendable, Equatable, Identifiable {
    public enum Status: String, Codable, Sendable, CaseIterable {
        case running
        /// Waiting on client tool results or approvals with no step in flight; a run in this state
        /// survives a restart (PROTOCOL §8).
        case waiting
        case completed
        case cancelled
        case failed
        case maxSteps = "max_steps"
        case timedOut = "timed_out"
        /// Cut by a server crash or shutdown (PROTOCOL §8).
        case interrupted
    }

    public var id: String
    public var workspaceId: Int64
    public var threadId: Int64?
    public var userId: Int64?
    public var requestId: String?
    public var message: String
    public var status: Status
    public var response: String
    /// The workspace chat holding the final answer.
    public var chatId: Int64?
    public var steps: Int
    public var maxSteps: Int
    /// The client tools declared for this run, as sent.
    public var clientTools: JSONValue
    public var promptTokens: Int
    public var completionTokens: Int
    public var error: String?
    /// The messages the run opened with (system prompt with document context, history, the user's
    /// message), so it can continue after a restart.
    public var context: JSONValue?
    public var createdAt: Date
    public var finishedAt: Date?

    public init(id: String, workspaceId: Int64, threadId: Int64?, userId: Int64?, requestId: String?, message: String,
                maxSteps: Int, clientTools: JSONValue, createdAt: Date = Timestamp.now()) {
        self.id = id
        self.workspaceId = workspaceId
        self.threadId = threadId
        self.userId = userId
        self.requestId = requestId
        self.message = message
        self.status = .running
        self.response = ""
        self.steps = 0
        self.maxSteps = maxSteps
        self.clientTools = clientTools
        self.promptTokens = 0
        self.completionTokens = 0
        self.createdAt = createdAt
    }
}

extension AgentInvocation: FetchableRecord, PersistableRecord, SnakeCaseColumns {
    public static let databaseTableName = "agent_invocations"
}

/// One stored step of a run: a model turn (`llm`) or one tool call with its result (`tool`).
public struct AgentStep: Codable, Sendable, Equatable, Identifiable {
    public enum Kind: String, Codable, Sendable {
        case llm
        case tool
    }

    public var id: Int64?
    public var invocationId: String
    public var step: Int
    public var kind: Kind
    public var callId: String?
    public var name: String?
    public var executor: String?
    public var arguments: JSONValue?
    public var output: JSONValue?
    public var isError: Bool?
    /// The model's text of an `llm` step.
    public var text: String?
    /// The tool calls an `llm` step asked for (`[{id, name, arguments}]`, arguments as the model wrote them).
    public var toolCalls: JSONValue?
    public var promptTokens: Int?
    public var completionTokens: Int?
    public var startedAt: Date
    public var durationMs: Double?

    public init(invocationId: String, step: Int, kind: Kind, callId: String? = nil, name: String? = nil,
                executor: String? = nil, arguments: JSONValue? = nil, output: JSONValue? = nil, isError: Bool? = nil,
                text: String? = nil, toolCalls: JSONValue? = nil, promptTokens: Int? = nil, completionTokens: Int? = nil,
                startedAt: Date, durationMs: Double?) {
        self.invocationId = invocationId
        self.step = step
        self.kind = kind
        self.callId = callId
        self.name = name
        self.executor = executor
        self.arguments = arguments
        self.output = output
        self.isError = isError
        self.text = text
        self.toolCalls = toolCalls
        self.promptTokens = promptTokens
        self.completionTokens = completionTokens
        self.startedAt = startedAt
        self.durationMs = durationMs
    }
}

extension AgentStep: FetchableRecord, MutablePersistableRecord, SnakeCaseColumns {
    public static let databaseTableName = "agent_steps"

    public mutating func didInsert(_ inserted: InsertionSuccess) {
        id = inserted.rowID
    }
}
