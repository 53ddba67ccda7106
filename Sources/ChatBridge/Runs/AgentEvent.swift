import Foundation

/// One server → client frame of an agent invocation (PROTOCOL §6), before it has a `seq`.
///
/// The engine produces these; they become JSON once, at the edge (``json(invocationId:seq:)``).
public enum AgentEvent: Sendable, Equatable {
    case start(thread: String?, workspace: String, maxSteps: Int, requestId: String?)
    /// The step waits for a provider slot; position 1 is next.
    case queued(position: Int, step: Int)
    case token(String, step: Int)
    /// The document passages put into the run's context.
    case sources([ChatSource], step: Int)
    case approvalRequired(AgentToolCall)
    /// A call about to run: on the server, or (for `executor: "client"`) the request to the client.
    case toolCall(AgentToolCall)
    case toolResult(AgentToolResult)
    case error(APIError)
    case complete(AgentCompletion)

    /// The frame's `type` on the wire.
    public var type: String {
        switch self {
        case .start: "agent_start"
        case .queued: "agent_queued"
        case .token: "agent_token"
        case .sources: "sources"
        case .approvalRequired: "approval_required"
        case .toolCall: "tool_call"
        case .toolResult: "tool_result"
        case .error: "error"
        case .complete: "agent_complete"
        }
    }

    /// Whether this frame ends the invocation.
    public var isTerminal: Bool {
        if case .complete = self { return true }
        return false
    }

    public func json(invocationId: String, seq: Int) -> JSONValue {
        var fields: [String: JSONValue] = ["type": .string(type), "invocation_id": .string(invocationId), "seq": .int(seq)]
        switch self {
        case .start(let thread, let workspace, let maxSteps, let requestId):
            fields["thread"] = thread.map(JSONValue.string) ?? .null
            fields["workspace"] = .string(workspace)
            fields["max_steps"] = .int(maxSteps)
            if let requestId { fields["request_id"] = .string(requestId) }
        case .queued(let position, let step):
            fields["position"] = .int(position)
            fields["step"] = .int(step)
        case .token(let token, let step):
            fields["token"] = .string(token)
            fields["step"] = .int(step)
        case .sources(let sources, let step):
            fields["sources"] = .array(sources.map(\.json))
            fields["step"] = .int(step)
        case .approvalRequired(let call), .toolCall(let call):
            fields["call_id"] = .string(call.callId)
            fields["name"] = .string(call.name)
            fields["arguments"] = call.arguments
            fields["executor"] = .string(call.executor)
            fields["step"] = .int(call.step)
            if case .toolCall = self, let timeout = call.timeoutMilliseconds { fields["timeout_ms"] = .int(timeout) }
        case .toolResult(let result):
            fields["call_id"] = .string(result.callId)
            fields["name"] = .string(result.name)
            fields["output"] = result.output
            fields["is_error"] = .bool(result.isError)
            fields["duration_ms"] = .number(result.durationMilliseconds.rounded3)
        case .error(let error):
            fields["code"] = .string(error.code.rawValue)
            fields["message"] = .string(error.message)
            if let retryAfter = error.retryAfterSeconds { fields["retry_after"] = .int(retryAfter) }
        case .complete(let completion):
            fields["status"] = .string(completion.status.rawValue)
            fields["response"] = .string(completion.response)
            fields["db_id"] = .number(Double(completion.dbId))
            fields["steps"] = .int(completion.steps)
            fields["usage"] = ["prompt_tokens": .int(completion.usage.promptTokens),
                               "completion_tokens": .int(completion.usage.completionTokens)]
            fields["duration_ms"] = .number(completion.durationMilliseconds.rounded3)
        }
        return .object(fields)
    }

    /// The logged frame of this event.
    public func frame(invocationId: String, seq: Int) -> RunFrame {
        RunFrame(seq: seq, type: type, json: json(invocationId: invocationId, seq: seq).serializedString)
    }
}

/// A tool call as `approval_required` and `tool_call` frames carry it.
public struct AgentToolCall: Sendable, Equatable {
    public var callId: String
    public var name: String
    public var arguments: JSONValue
    public var executor: String
    public var step: Int
    /// How long the client has to answer (client calls).
    public var timeoutMilliseconds: Int?

    public init(callId: String, name: String, arguments: JSONValue, executor: String, step: Int, timeoutMilliseconds: Int? = nil) {
        self.callId = callId
        self.name = name
        self.arguments = arguments
        self.executor = executor
        self.step = step
        self.timeoutMilliseconds = timeoutMilliseconds
    }

    /// The call a logged `tool_call` or `approval_required` frame carries.
    public init?(frame: JSONValue) {
        guard let callId = frame["call_id"]?.stringValue, let name = frame["name"]?.stringValue,
              let executor = frame["executor"]?.stringValue else { return nil }
        self.init(callId: callId, name: name, arguments: frame["arguments"] ?? .object([:]), executor: executor,
                  step: frame["step"]?.intValue ?? 0, timeoutMilliseconds: frame["timeout_ms"]?.intValue)
    }
}

/// A `tool_result` frame's content.
public struct AgentToolResult: Sendable, Equatable {
    public var callId: String
    public var name: String
    public var output: JSONValue
    public var isError: Bool
    public var durationMilliseconds: Double

    public init(callId: String, name: String, output: JSONValue, isError: Bool, durationMilliseconds: Double) {
        self.callId = callId
        self.name = name
        self.output = output
        self.isError = isError
        self.durationMilliseconds = durationMilliseconds
    }
}

/// The end of a run as `agent_complete` reports it.
public struct AgentCompletion: Sendable, Equatable {
    public var status: AgentInvocation.Status
    public var response: String
    public var dbId: Int64
    public var steps: Int
    public var usage: Usage
    public var durationMilliseconds: Double

    public init(status: AgentInvocation.Status, response: String, dbId: Int64, steps: Int, usage: Usage, durationMilliseconds: Double) {
        self.status = status
        self.response = response
        self.dbId = dbId
        self.steps = steps
        self.usage = usage
        self.durationMilliseconds = durationMilliseconds
    }
}
