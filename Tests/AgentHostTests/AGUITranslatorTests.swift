import ChatBridge
import NIOCore
import Testing

@testable import AgentHost

/// The translation of an agent run's events into AG-UI events (PROTOCOL §10): exact sequences,
/// the frontend hand-back, errors, and the numbering resumes rely on.
@Suite("AG-UI translation")
struct AGUITranslatorTests {
    static let usage = Usage(promptTokens: 12, completionTokens: 5)

    static func completion(_ status: AgentInvocation.Status, response: String = "") -> AgentEvent {
        .complete(AgentCompletion(status: status, response: response, dbId: 7, steps: 2, usage: usage, durationMilliseconds: 12.5))
    }

    static func translate(_ events: [AgentEvent], runId: String = "run-1") -> [AGUIEvent] {
        var translator = AGUITranslator(runId: runId, threadId: runId)
        return events.flatMap { translator.translate($0) }
    }

    @Test func textAndAServerToolTranslateInOrder() {
        let calculator = AgentToolCall(callId: "c1", name: "calculator", arguments: ["expression": "6*7"], executor: "server", step: 1)
        let events = Self.translate([
            .start(thread: "our-slug", workspace: "w", maxSteps: 10, requestId: "thread-a"),
            .token("Let me ", step: 1), .token("check.", step: 1),
            .toolCall(calculator),
            .toolResult(AgentToolResult(callId: "c1", name: "calculator", output: .number(42), isError: false, durationMilliseconds: 1)),
            .token("42", step: 2),
            Self.completion(.completed, response: "42"),
        ])
        #expect(events == [
            .runStarted(threadId: "thread-a", runId: "run-1"),
            .stepStarted(name: "step 1"),
            .textMessageStart(messageId: "run-1-step-1"),
            .textMessageContent(messageId: "run-1-step-1", delta: "Let me "),
            .textMessageContent(messageId: "run-1-step-1", delta: "check."),
            .textMessageEnd(messageId: "run-1-step-1"),
            .toolCallStart(toolCallId: "c1", name: "calculator", parentMessageId: "run-1-step-1"),
            .toolCallArgs(toolCallId: "c1", delta: #"{"expression":"6*7"}"#),
            .toolCallEnd(toolCallId: "c1"),
            .toolCallResult(messageId: "run-1-result-c1", toolCallId: "c1", content: "42"),
            .stepFinished(name: "step 1"),
            .stepStarted(name: "step 2"),
            .textMessageStart(messageId: "run-1-step-2"),
            .textMessageContent(messageId: "run-1-step-2", delta: "42"),
            .textMessageEnd(messageId: "run-1-step-2"),
            .stepFinished(name: "step 2"),
            .runFinished(threadId: "thread-a", runId: "run-1", outcome: .success(pendingToolCallIds: []),
                         result: ["status": "completed", "response": "42", "db_id": 7], usage: Self.usage),
        ])
    }

    @Test func frontendCallsFinishTheRunWithTheirIdsPending() {
        let events = Self.translate([
            .start(thread: nil, workspace: "w", maxSteps: 10, requestId: "thread-b"),
            .toolCall(AgentToolCall(callId: "f1", name: "change_background", arguments: ["color": "blue"], executor: "client", step: 1,
                                    timeoutMilliseconds: 60000)),
            .toolCall(AgentToolCall(callId: "f2", name: "confirm", arguments: [:], executor: "client", step: 1)),
            Self.completion(.completed),
        ])
        #expect(events.map(\.type) == ["RUN_STARTED", "STEP_STARTED", "TOOL_CALL_START", "TOOL_CALL_ARGS", "TOOL_CALL_END",
                                       "TOOL_CALL_START", "TOOL_CALL_ARGS", "TOOL_CALL_END", "STEP_FINISHED", "RUN_FINISHED"])
        guard case .runFinished(_, _, let outcome, _, _)? = events.last else {
            Issue.record("no RUN_FINISHED: \(events)")
            return
        }
        #expect(outcome == .success(pendingToolCallIds: ["f1", "f2"]))
        #expect(events.last?.json["outcome"] == ["type": "success", "pendingToolCallIds": ["f1", "f2"]])
    }

    @Test func anErrorEndsTheStreamAndNothingFollows() {
        let events = Self.translate([
            .start(thread: nil, workspace: "w", maxSteps: 10, requestId: nil),
            .token("par", step: 1),
            .error(APIError(.providerError, "The model provider answered 500.")),
            Self.completion(.failed, response: "par"),
        ])
        #expect(events == [
            .runStarted(threadId: "run-1", runId: "run-1"),
            .stepStarted(name: "step 1"),
            .textMessageStart(messageId: "run-1-step-1"),
            .textMessageContent(messageId: "run-1-step-1", delta: "par"),
            .textMessageEnd(messageId: "run-1-step-1"),
            .stepFinished(name: "step 1"),
            .runError(code: "provider_error", message: "The model provider answered 500."),
        ])
    }

    @Test func endsWithoutAnErrorFrameMapToTheirOutcome() {
        func last(_ status: AgentInvocation.Status) -> AGUIEvent? {
            Self.translate([.start(thread: nil, workspace: "w", maxSteps: 1, requestId: "t"), Self.completion(status)]).last
        }
        #expect(last(.cancelled) == .runFinished(threadId: "t", runId: "run-1", outcome: .cancelled,
                                                  result: ["status": "cancelled", "response": "", "db_id": 7], usage: Self.usage))
        #expect(last(.maxSteps)?.type == "RUN_FINISHED")
        #expect(last(.timedOut) == .runError(code: "tool_timeout", message: "No client answered the run's requests in time."))
        #expect(last(.interrupted)?.json["code"] == "cancelled")
    }

    /// A call refused before it ran (unknown tool, invalid arguments) has only a `tool_result`
    /// frame; AG-UI still gets the call opened and closed before its result.
    @Test func aRefusedCallIsOpenedBeforeItsResult() {
        let events = Self.translate([
            .start(thread: nil, workspace: "w", maxSteps: 3, requestId: "t"),
            .toolResult(AgentToolResult(callId: "x1", name: "nope", output: ["error": "Unknown tool 'nope'."], isError: true,
                                        durationMilliseconds: 0)),
        ])
        #expect(events.dropFirst().map(\.type) == ["TOOL_CALL_START", "TOOL_CALL_END", "TOOL_CALL_RESULT"])
        #expect(events.last?.json["content"] == #"{"error":"Unknown tool 'nope'."}"#)
    }

    /// Every agent frame decodes back into the event that made it: live and replayed translations agree.
    @Test func loggedFramesDecodeToTheirEvents() {
        let call = AgentToolCall(callId: "c9", name: "lookup", arguments: ["q": "x", "n": 2], executor: "client", step: 3,
                                 timeoutMilliseconds: 5000)
        let events: [AgentEvent] = [
            .start(thread: "slug", workspace: "w", maxSteps: 4, requestId: "req"),
            .start(thread: nil, workspace: "w", maxSteps: 4, requestId: nil),
            .queued(position: 2, step: 1),
            .token("a \"quoted\"\n token", step: 2),
            .sources([ChatSource(title: "Doc", chunk: "text", score: 0.5, documentId: 3)], step: 1),
            .approvalRequired(AgentToolCall(callId: "c8", name: "delete", arguments: [:], executor: "server", step: 1)),
            .toolCall(call),
            .toolResult(AgentToolResult(callId: "c9", name: "lookup", output: ["ok": true], isError: false, durationMilliseconds: 1.25)),
            .error(APIError(.toolTimeout, "late")),
            Self.completion(.maxSteps, response: "done"),
        ]
        for event in events {
            #expect(AgentEvent(frame: event.frame(invocationId: "r", seq: 5)) == event)
        }
        #expect(AgentEvent(frame: RunFrame(seq: 0, type: "chat_token", json: #"{"token":"x"}"#)) == nil)
    }

    /// SSE ids are positions in the run's AG-UI stream: resuming after `n` writes exactly the events after `n`.
    @Test func theStreamNumbersEventsAndResumesAfterAPosition() throws {
        let frames = [
            AgentEvent.start(thread: nil, workspace: "w", maxSteps: 2, requestId: "t"),
            .token("one ", step: 1), .token("two", step: 1),
            Self.completion(.completed, response: "one two"),
        ].enumerated().map { $1.frame(invocationId: "r", seq: $0) }
        func written(after: Int) -> [(id: Int, json: String)] {
            var stream = AGUIEventStream(runId: "r", after: after)
            var buffer = ByteBuffer()
            for frame in frames { stream.encode(frame, into: &buffer) }
            let text = buffer.readString(length: buffer.readableBytes) ?? ""
            return text.split(separator: "\n\n").map { block in
                let lines = block.split(separator: "\n")
                return (Int(lines[0].dropFirst(4))!, String(lines[1].dropFirst(6)))
            }
        }
        let all = written(after: -1)
        #expect(all.map(\.id) == Array(0..<8))
        let tail = written(after: 3)
        #expect(tail.map(\.id) == Array(4..<8))
        #expect(tail.map(\.json) == all.dropFirst(4).map(\.json))
        let first = try JSONValue(parsing: try #require(all.first).json)
        #expect(first == ["type": "RUN_STARTED", "threadId": "t", "runId": "r"])
    }
}
