import ChatBridge

/// One AG-UI event (the `ag-ui-protocol` 1.0 event reference), encoded at the edge with the
/// protocol's camelCase names and its `type` discriminator.
///
/// The endpoint sends only these; they are translated from the engine's frames (``AGUITranslator``).
enum AGUIEvent: Sendable, Equatable {
    case runStarted(threadId: String, runId: String)
    /// `pendingToolCallIds`: frontend tool calls the client is to execute; their results come in
    /// the next run's `messages`.
    case runFinished(threadId: String, runId: String, outcome: Outcome, result: JSONValue?, usage: Usage?)
    case runError(code: String, message: String)
    case stepStarted(name: String)
    case stepFinished(name: String)
    case textMessageStart(messageId: String)
    case textMessageContent(messageId: String, delta: String)
    case textMessageEnd(messageId: String)
    case toolCallStart(toolCallId: String, name: String, parentMessageId: String)
    case toolCallArgs(toolCallId: String, delta: String)
    case toolCallEnd(toolCallId: String)
    case toolCallResult(messageId: String, toolCallId: String, content: String)
    /// What AG-UI has no event for (queue positions, document sources, approval requests).
    case custom(name: String, value: JSONValue)

    /// How a run finished (`RUN_FINISHED.outcome`).
    enum Outcome: Sendable, Equatable {
        case success(pendingToolCallIds: [String])
        case cancelled
    }

    /// The event's `type` on the wire.
    var type: String {
        switch self {
        case .runStarted: "RUN_STARTED"
        case .runFinished: "RUN_FINISHED"
        case .runError: "RUN_ERROR"
        case .stepStarted: "STEP_STARTED"
        case .stepFinished: "STEP_FINISHED"
        case .textMessageStart: "TEXT_MESSAGE_START"
        case .textMessageContent: "TEXT_MESSAGE_CONTENT"
        case .textMessageEnd: "TEXT_MESSAGE_END"
        case .toolCallStart: "TOOL_CALL_START"
        case .toolCallArgs: "TOOL_CALL_ARGS"
        case .toolCallEnd: "TOOL_CALL_END"
        case .toolCallResult: "TOOL_CALL_RESULT"
        case .custom: "CUSTOM"
        }
    }

    /// Whether the run's AG-UI stream ends with this event.
    var isTerminal: Bool {
        switch self {
        case .runFinished, .runError: true
        default: false
        }
    }

    /// The event as AG-UI's JSON.
    var json: JSONValue {
        var fields: [String: JSONValue] = ["type": .string(type)]
        switch self {
        case .runStarted(let threadId, let runId):
            fields["threadId"] = .string(threadId)
            fields["runId"] = .string(runId)
        case .runFinished(let threadId, let runId, let outcome, let result, let usage):
            fields["threadId"] = .string(threadId)
            fields["runId"] = .string(runId)
            switch outcome {
            case .success(let pending):
                var success: [String: JSONValue] = ["type": "success"]
                if !pending.isEmpty { success["pendingToolCallIds"] = .array(pending.map(JSONValue.string)) }
                fields["outcome"] = .object(success)
            case .cancelled:
                fields["outcome"] = ["type": "cancelled"]
            }
            if let result { fields["result"] = result }
            if let usage {
                fields["usage"] = [["inputTokens": .int(usage.promptTokens), "outputTokens": .int(usage.completionTokens),
                                    "totalTokens": .int(usage.promptTokens + usage.completionTokens)]]
            }
        case .runError(let code, let message):
            fields["code"] = .string(code)
            fields["message"] = .string(message)
        case .stepStarted(let name), .stepFinished(let name):
            fields["stepName"] = .string(name)
        case .textMessageStart(let messageId):
            fields["messageId"] = .string(messageId)
            fields["role"] = "assistant"
        case .textMessageContent(let messageId, let delta):
            fields["messageId"] = .string(messageId)
            fields["delta"] = .string(delta)
        case .textMessageEnd(let messageId):
            fields["messageId"] = .string(messageId)
        case .toolCallStart(let toolCallId, let name, let parentMessageId):
            fields["toolCallId"] = .string(toolCallId)
            fields["toolCallName"] = .string(name)
            fields["parentMessageId"] = .string(parentMessageId)
        case .toolCallArgs(let toolCallId, let delta):
            fields["toolCallId"] = .string(toolCallId)
            fields["delta"] = .string(delta)
        case .toolCallEnd(let toolCallId):
            fields["toolCallId"] = .string(toolCallId)
        case .toolCallResult(let messageId, let toolCallId, let content):
            fields["messageId"] = .string(messageId)
            fields["toolCallId"] = .string(toolCallId)
            fields["content"] = .string(content)
            fields["role"] = "tool"
        case .custom(let name, let value):
            fields["name"] = .string(name)
            fields["value"] = value
        }
        return .object(fields)
    }
}
