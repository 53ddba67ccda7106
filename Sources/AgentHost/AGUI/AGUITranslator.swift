import ChatBridge
import Tools

/// Translates an agent run's events, in `seq` order from the first, into AG-UI events (PROTOCOL §10).
///
/// The translation is a pure function of the run's frames: a live stream and a replay from the log
/// produce the same events in the same order, so an event's position in that sequence is its SSE
/// `id` and resuming after it (`Last-Event-ID`, `after_seq`) is exact. Message ids derive from the
/// run id and the step, never from the clock.
struct AGUITranslator: Sendable {
    let runId: String
    /// The AG-UI thread: the run's `request_id` (where the endpoint keeps the client's `threadId`),
    /// else this fallback (our thread's slug).
    private(set) var threadId: String
    /// The latest model step any event named, and whether its STEP_STARTED awaits its STEP_FINISHED.
    private var step = 0
    private var stepOpen = false
    private var openMessage: String?
    private var startedCalls: Set<String> = []
    /// Frontend calls handed back to the client, in the order the model asked for them.
    private var pendingClientCalls: [String] = []
    private(set) var hasEnded = false

    init(runId: String, threadId: String) {
        self.runId = runId
        self.threadId = threadId
    }

    /// The AG-UI events of the run's next event; none after the terminal one.
    mutating func translate(_ event: AgentEvent) -> [AGUIEvent] {
        guard !hasEnded else { return [] }
        switch event {
        case .start(let thread, _, _, let requestId):
            if let id = requestId ?? thread { threadId = id }
            return [.runStarted(threadId: threadId, runId: runId)]
        case .queued(let position, let step):
            return [.custom(name: "queued", value: ["position": .int(position), "step": .int(step)])]
        case .sources(let sources, let step):
            return [.custom(name: "sources", value: ["step": .int(step), "sources": .array(sources.map { source in
                ["title": .string(source.title), "chunk": .string(source.chunk), "score": .number(source.score),
                 "document_id": source.documentId.map { .int(Int($0)) } ?? .null]
            })])]
        case .token(let token, let step):
            var events = enter(step: step)
            if openMessage == nil {
                let id = messageId(step: self.step)
                openMessage = id
                events.append(.textMessageStart(messageId: id))
            }
            events.append(.textMessageContent(messageId: openMessage!, delta: token))
            return events
        case .approvalRequired(let call):
            // AG-UI has no approvals: the client answers at POST /api/agent/invocations/{runId}/approvals/.
            return enter(step: call.step) + closeMessage() + [.custom(name: "approval_required", value: [
                "invocation_id": .string(runId), "call_id": .string(call.callId), "name": .string(call.name),
                "arguments": call.arguments])]
        case .toolCall(let call):
            var events = enter(step: call.step) + closeMessage()
            if startedCalls.insert(call.callId).inserted {
                events += [.toolCallStart(toolCallId: call.callId, name: call.name, parentMessageId: messageId(step: step)),
                           .toolCallArgs(toolCallId: call.callId, delta: call.arguments.serializedString),
                           .toolCallEnd(toolCallId: call.callId)]
            }
            if call.executor == ToolExecutor.client.rawValue, !pendingClientCalls.contains(call.callId) {
                pendingClientCalls.append(call.callId)
            }
            return events
        case .toolResult(let result):
            var events = closeMessage()
            // A call refused before it ran (unknown tool, invalid arguments) had no tool_call frame.
            if startedCalls.insert(result.callId).inserted {
                events += [.toolCallStart(toolCallId: result.callId, name: result.name, parentMessageId: messageId(step: step)),
                           .toolCallEnd(toolCallId: result.callId)]
            }
            pendingClientCalls.removeAll { $0 == result.callId }
            let content = result.output.stringValue ?? result.output.serializedString
            events.append(.toolCallResult(messageId: "\(runId)-result-\(result.callId)", toolCallId: result.callId, content: content))
            return events
        case .error(let error):
            hasEnded = true
            return closeMessage() + closeStep() + [.runError(code: error.code.rawValue, message: error.message)]
        case .complete(let completion):
            hasEnded = true
            let closing = closeMessage() + closeStep()
            let result: JSONValue = ["status": .string(completion.status.rawValue), "response": .string(completion.response),
                                     "db_id": .int(Int(completion.dbId))]
            switch completion.status {
            case .completed, .maxSteps, .running, .waiting:
                return closing + [.runFinished(threadId: threadId, runId: runId, outcome: .success(pendingToolCallIds: pendingClientCalls),
                                               result: result, usage: completion.usage)]
            case .cancelled:
                return closing + [.runFinished(threadId: threadId, runId: runId, outcome: .cancelled, result: result,
                                               usage: completion.usage)]
            case .failed:
                return closing + [.runError(code: APIError.Code.internal.rawValue, message: "The run failed.")]
            case .timedOut:
                return closing + [.runError(code: APIError.Code.toolTimeout.rawValue,
                                            message: "No client answered the run's requests in time.")]
            case .interrupted:
                return closing + [.runError(code: APIError.Code.cancelled.rawValue,
                                            message: "The server stopped during the run; it ended interrupted.")]
            }
        }
    }

    /// The assistant message of a model step: its text and its tool calls.
    func messageId(step: Int) -> String {
        "\(runId)-step-\(step)"
    }

    private mutating func enter(step newStep: Int) -> [AGUIEvent] {
        guard newStep > step else { return [] }
        let events = closeMessage() + closeStep()
        step = newStep
        stepOpen = true
        return events + [.stepStarted(name: Self.stepName(newStep))]
    }

    private mutating func closeMessage() -> [AGUIEvent] {
        guard let id = openMessage else { return [] }
        openMessage = nil
        return [.textMessageEnd(messageId: id)]
    }

    private mutating func closeStep() -> [AGUIEvent] {
        guard stepOpen else { return [] }
        stepOpen = false
        return [.stepFinished(name: Self.stepName(step))]
    }

    static func stepName(_ step: Int) -> String {
        "step \(step)"
    }
}
