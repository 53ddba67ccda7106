import AgentHostTesting
import AsyncHTTPClient
@testable import ChatBridge
import Foundation
import Logging
import Testing

@testable import AgentHost

/// Each provider against a fake upstream on a real loopback socket, scripted in the vendor's format.
@Suite("LLM providers over real sockets")
struct ProviderStreamingTests {
    static let logger = Logger(label: "test")

    static func provider(_ kind: ProviderSettings.Kind, baseURL: String, retries: Int = 2, impatient: Bool = false) -> any LLMProvider {
        let settings = ProviderSettings(
            kind: kind, baseURL: kind == .openai ? baseURL + "/v1" : baseURL, apiKey: "test-key", model: "fake",
            timeouts: .init(connect: .seconds(2), firstToken: .seconds(5), idle: .seconds(1)),
            retry: .init(maxRetries: retries, initialBackoff: .milliseconds(20)))
        return ProviderCatalog(defaultSettings: settings, client: impatient ? TestHarness.impatientClient : TestHarness.httpClient,
                               logger: logger)
            .makeProvider(settings)
    }

    static func collect(_ provider: any LLMProvider, _ request: LLMRequest = LLMRequest(model: "fake", messages: [.user("hi")])) async throws -> [LLMEvent] {
        var events: [LLMEvent] = []
        for try await event in try await provider.stream(request) { events.append(event) }
        return events
    }

    static func text(_ events: [LLMEvent]) -> String {
        events.compactMap { if case .text(let text) = $0 { text } else { nil } }.joined()
    }

    /// The tool calls the events describe, merged: (id, name, arguments).
    static func toolCalls(_ events: [LLMEvent]) -> [(String, String, String)] {
        var calls: [Int: (String, String, String)] = [:]
        var ended: Set<Int> = []
        for event in events {
            switch event {
            case .toolCallStart(let index, let id, let name): calls[index] = (id, name, "")
            case .toolCallArguments(let index, let delta): calls[index]?.2 += delta
            case .toolCallEnd(let index): ended.insert(index)
            default: break
            }
        }
        #expect(ended == Set(calls.keys), "every started call is ended")
        return calls.keys.sorted().map { calls[$0]! }
    }

    // MARK: OpenAI-compatible

    @Test func openAIStreamsTextAndUsage() async throws {
        try await FakeUpstream.run(FakeUpstream()) { upstream in
            await upstream.enqueue(VendorStream.openAI(tokens: ["Hel", "lo", " wörld"], usage: Usage(promptTokens: 11, completionTokens: 3)))
            let events = try await Self.collect(Self.provider(.openai, baseURL: await upstream.baseURL))
            #expect(Self.text(events) == "Hello wörld")
            #expect(events.contains(.usage(Usage(promptTokens: 11, completionTokens: 3))))
            #expect(events.last == .finish(.stop))
            let exchange = try #require(await upstream.exchanges.first)
            #expect(exchange.path == "/v1/chat/completions")
            #expect(exchange.headers[.authorization] == "Bearer test-key")
            #expect(exchange.body["stream"] == true)
            #expect(exchange.body["stream_options"]?["include_usage"] == true)
        }
    }

    @Test(arguments: [false, true])
    func openAIToolCallDeltasMergeByIndex(repeatIdentity: Bool) async throws {
        try await FakeUpstream.run(FakeUpstream()) { upstream in
            await upstream.enqueue(VendorStream.openAIToolCalls([
                ("call_a", "calculator", #"{"expression": "2+2"}"#),
                ("call_b", "current_time", #"{"time_zone": "Europe/Paris"}"#),
            ], repeatIdentity: repeatIdentity, splitEvery: 3))
            let events = try await Self.collect(Self.provider(.openai, baseURL: await upstream.baseURL))
            let calls = Self.toolCalls(events)
            #expect(calls.map(\.0) == ["call_a", "call_b"])
            #expect(calls.map(\.1) == ["calculator", "current_time"])
            #expect(calls.map(\.2) == [#"{"expression": "2+2"}"#, #"{"time_zone": "Europe/Paris"}"#])
            #expect(events.last == .finish(.toolCalls))
            // No usage from the server: it is counted locally.
            #expect(events.contains { if case .usage(let usage) = $0 { usage.completionTokens > 0 } else { false } })
        }
    }

    @Test func openAIRequestCarriesToolsAndToolTurns() async throws {
        try await FakeUpstream.run(FakeUpstream()) { upstream in
            let request = LLMRequest(
                model: "m", messages: [
                    .system("sys"), .user("what is 2+2?"),
                    .assistant("", toolCalls: [ToolCall(id: "c1", name: "calculator", arguments: #"{"expression":"2+2"}"#)]),
                    .tool(callId: "c1", name: "calculator", output: "4", isError: false),
                ],
                tools: [ToolDefinition(name: "calculator", description: "math", parameters: ["type": "object"])],
                toolChoice: .tool("calculator"))
            _ = try await Self.collect(Self.provider(.openai, baseURL: await upstream.baseURL), request)
            let body = try #require(await upstream.exchanges.first?.body)
            let messages = try #require(body["messages"]?.arrayValue)
            #expect(messages[2]["content"] == "", "llama.cpp rejects null content beside tool calls")
            #expect(messages[2]["tool_calls"]?.arrayValue?.first?["function"]?["name"] == "calculator")
            #expect(messages[3] == ["role": "tool", "tool_call_id": "c1", "content": "4"])
            #expect(body["tool_choice"] == ["type": "function", "function": ["name": "calculator"]])
            #expect(body["tools"]?.arrayValue?.first?["function"]?["name"] == "calculator")
        }
    }

    @Test func openAIMidStreamErrorIsAProviderError() async throws {
        try await FakeUpstream.run(FakeUpstream()) { upstream in
            await upstream.enqueue(UpstreamScript(parts: [
                VendorStream.openAIChunk(delta: ["content": "partial"]),
                .bytes(#"data: {"error": {"message": "model crashed"}}"# + "\n\n"),
            ]))
            var received = ""
            await #expect(throws: APIError.self) {
                for try await event in try await Self.provider(.openai, baseURL: await upstream.baseURL).stream(
                    LLMRequest(model: "m", messages: [.user("x")])) {
                    if case .text(let text) = event { received += text }
                }
            }
            #expect(received == "partial")
        }
    }

    /// llama.cpp's server answers a failure inside a stream with HTTP 200 and an empty body.
    @Test func streamCutBeforeItsEndMarkerIsAnError() async throws {
        try await FakeUpstream.run(FakeUpstream()) { upstream in
            await upstream.enqueue(UpstreamScript(parts: []),
                                   UpstreamScript(parts: [VendorStream.openAIChunk(delta: ["content": "half"])]))
            for _ in 0..<2 {
                do {
                    _ = try await Self.collect(Self.provider(.openai, baseURL: await upstream.baseURL))
                    Issue.record("a stream without [DONE] must fail")
                } catch let error as APIError {
                    #expect(error.code == .providerError)
                    #expect(error.message.contains("[DONE]"))
                }
            }
        }
    }

    @Test func stalledStreamFailsOnTheIdleTimeout() async throws {
        try await FakeUpstream.run(FakeUpstream()) { upstream in
            await upstream.enqueue(UpstreamScript(parts: [VendorStream.openAIChunk(delta: ["content": "a"]), .stall]))
            let start = ContinuousClock.now
            do {
                _ = try await Self.collect(Self.provider(.openai, baseURL: await upstream.baseURL, impatient: true))
                Issue.record("a stalled stream must fail")
            } catch let error as APIError {
                #expect(error.code == .providerError)
                #expect(error.message.contains("idle"), "\(error.message)")
            }
            let elapsed = start.duration(to: .now)
            #expect(elapsed < .seconds(4), "the idle timeout is 1 s")
        }
    }

    @Test func rateLimitedThenSuccessIsRetried() async throws {
        try await FakeUpstream.run(FakeUpstream()) { upstream in
            await upstream.enqueue(.error(status: 429, message: "slow down"), .error(status: 503, message: "busy"),
                                   VendorStream.openAI(tokens: ["fine"]))
            let events = try await Self.collect(Self.provider(.openai, baseURL: await upstream.baseURL))
            #expect(Self.text(events) == "fine")
            #expect(await upstream.exchanges.count == 3)
        }
    }

    @Test func clientErrorsAreNotRetriedAndSayWhy() async throws {
        try await FakeUpstream.run(FakeUpstream()) { upstream in
            await upstream.enqueue(.error(status: 401, message: "bad key"))
            do {
                _ = try await Self.collect(Self.provider(.openai, baseURL: await upstream.baseURL))
                Issue.record("expected a provider error")
            } catch let error as APIError {
                #expect(error.code == .providerError)
                #expect(error.message.contains("openai"))
                #expect(error.message.contains("401"))
                #expect(error.message.contains("bad key"))
            }
            #expect(await upstream.exchanges.count == 1)
        }
    }

    @Test func connectionRefusedIsAClearProviderError() async throws {
        let provider = Self.provider(.openai, baseURL: "http://127.0.0.1:9", retries: 1)
        do {
            _ = try await Self.collect(provider)
            Issue.record("expected a provider error")
        } catch let error as APIError {
            #expect(error.code == .providerError)
            // Clear, but without the internal address (issue 11): that goes to the log.
            #expect(error.message.contains("connection refused"))
            #expect(!error.message.contains("127.0.0.1:9"))
        }
    }

    // MARK: Anthropic

    @Test func anthropicStreamsTextToolUseAndUsage() async throws {
        try await FakeUpstream.run(FakeUpstream()) { upstream in
            await upstream.enqueue(VendorStream.anthropic(tokens: ["Let me ", "check."],
                                                          toolCalls: [("toolu_1", "calculator", #"{"expression":"6*7"}"#)],
                                                          inputTokens: 21, outputTokens: 9))
            let events = try await Self.collect(Self.provider(.anthropic, baseURL: await upstream.baseURL), LLMRequest(
                model: "claude", messages: [.system("be exact"), .user("6*7?")],
                tools: [ToolDefinition(name: "calculator", description: "math", parameters: ["type": "object"])]))
            #expect(Self.text(events) == "Let me check.")
            #expect(Self.toolCalls(events).map(\.2) == [#"{"expression":"6*7"}"#])
            #expect(events.contains(.usage(Usage(promptTokens: 21, completionTokens: 9))))
            #expect(events.last == .finish(.toolCalls))
            let exchange = try #require(await upstream.exchanges.first)
            #expect(exchange.path == "/v1/messages")
            #expect(exchange.headers[.init("x-api-key")!] == "test-key")
            #expect(exchange.headers[.init("anthropic-version")!] == "2023-06-01")
            #expect(exchange.body["system"] == "be exact")
            #expect(exchange.body["tools"]?.arrayValue?.first?["input_schema"] == ["type": "object"])
        }
    }

    @Test func anthropicErrorEventIsAProviderError() async throws {
        try await FakeUpstream.run(FakeUpstream()) { upstream in
            await upstream.enqueue(UpstreamScript(parts: [
                VendorStream.anthropicEvent("error", ["type": "error", "error": ["type": "overloaded_error", "message": "Overloaded"]]),
            ]))
            do {
                _ = try await Self.collect(Self.provider(.anthropic, baseURL: await upstream.baseURL))
                Issue.record("expected a provider error")
            } catch let error as APIError {
                #expect(error.message.contains("Overloaded"))
            }
        }
    }

    @Test func anthropicToolResultsBecomeUserTurns() {
        let body = AnthropicProvider.body(for: LLMRequest(model: "c", messages: [
            .user("q"), .assistant("", toolCalls: [ToolCall(id: "t1", name: "a", arguments: #"{"x":1}"#),
                                                  ToolCall(id: "t2", name: "b", arguments: "{}")]),
            .tool(callId: "t1", name: "a", output: "1", isError: false),
            .tool(callId: "t2", name: "b", output: "oops", isError: true),
        ]))
        let messages = body["messages"]?.arrayValue ?? []
        #expect(messages.map { $0["role"] } == ["user", "assistant", "user"], "roles alternate; results merge into one turn")
        #expect(messages[1]["content"]?.arrayValue?.first?["input"] == ["x": 1])
        #expect(messages[2]["content"]?.arrayValue?.map { $0["is_error"] } == [false, true])
    }

    // MARK: Cohere

    @Test func cohereStreamsTextToolCallsAndUsage() async throws {
        try await FakeUpstream.run(FakeUpstream()) { upstream in
            await upstream.enqueue(VendorStream.cohere(tokens: ["Bon", "jour"], toolCalls: [("tc_1", "current_time", #"{"time_zone":"UTC"}"#)],
                                                       usage: Usage(promptTokens: 12, completionTokens: 5)))
            let events = try await Self.collect(Self.provider(.cohere, baseURL: await upstream.baseURL))
            #expect(Self.text(events) == "Bonjour")
            #expect(Self.toolCalls(events).map(\.0) == ["tc_1"])
            #expect(Self.toolCalls(events).map(\.2) == [#"{"time_zone":"UTC"}"#])
            #expect(events.contains(.usage(Usage(promptTokens: 12, completionTokens: 5))))
            #expect(events.last == .finish(.toolCalls))
            #expect(await upstream.exchanges.first?.path == "/v2/chat")
        }
    }

    @Test func cohereRetriesAfter429() async throws {
        try await FakeUpstream.run(FakeUpstream()) { upstream in
            await upstream.enqueue(.error(status: 429, message: "limit"), VendorStream.cohere(tokens: ["ok"]))
            let events = try await Self.collect(Self.provider(.cohere, baseURL: await upstream.baseURL))
            #expect(Self.text(events) == "ok")
        }
    }

    @Test func cohereStallHitsIdleTimeout() async throws {
        try await FakeUpstream.run(FakeUpstream()) { upstream in
            await upstream.enqueue(UpstreamScript(parts: [VendorStream.cohereEvent("message-start", ["type": "message-start"]), .stall]))
            await #expect(throws: APIError.self) {
                _ = try await Self.collect(Self.provider(.cohere, baseURL: await upstream.baseURL, impatient: true))
            }
        }
    }
}

/// An upstream that cuts the connection mid-answer (issue 11): every complete event that arrived
/// before the cut is delivered, then the error.
@Suite("Cut upstream")
struct CutUpstreamTests {
    static let tokens = ["one ", "two ", "three ", "four ", "five "]

    /// The role chunk and five tokens, then the connection closes.
    static var cutScript: UpstreamScript { VendorStream.openAI(tokens: tokens).closing(afterParts: 1 + tokens.count) }

    @Test func providerDeliversEveryEventBeforeTheCut() async throws {
        try await FakeUpstream.run(FakeUpstream()) { upstream in
            let provider = ProviderStreamingTests.provider(.openai, baseURL: await upstream.baseURL, retries: 0)
            for attempt in 0..<20 {
                await upstream.enqueue(Self.cutScript)
                var texts: [String] = []
                var failure: (any Error)?
                do {
                    for try await event in try await provider.stream(LLMRequest(model: "fake", messages: [.user("hi")])) {
                        if case .text(let text) = event { texts.append(text) }
                    }
                } catch {
                    failure = error
                }
                #expect(texts == Self.tokens, "attempt \(attempt)")
                let error = try #require(failure as? APIError, "attempt \(attempt): the cut is reported")
                #expect(error.code == .providerError)
            }
        }
    }

    /// The issue's probe, end to end: a real server on a real socket relays and stores all five tokens
    /// every time, then reports the cut as an `error` frame (the partial answer stored as failed).
    @Test func serverRelaysAndStoresEveryTokenBeforeTheCut() async throws {
        try await TestHarness.withUpstream(configure: { $0.llm.retry.maxRetries = 0 }) { harness, upstream in
            let workspace = try await harness.addWorkspace("Docs")
            try await harness.testLive { client in
                for attempt in 0..<20 {
                    await upstream.enqueue(Self.cutScript)
                    let response = try await client.send(.post, "/api/chats/stream_chat", json: #"{"message": "count", "workspace": "docs"}"#)
                    let frames = response.frames
                    #expect(frames.filter { $0.type == "chat_token" }.compactMap { $0["token"]?.stringValue } == Self.tokens,
                            "attempt \(attempt)")
                    let last = try #require(frames.last)
                    #expect(last.type == "error" && last["code"] == "provider_error", "attempt \(attempt)")
                }
                let stored = try await harness.store.history(HistoryQuery(workspaceId: workspace.id!, threadId: nil), viewer: .singleUser)
                #expect(stored.count == 20)
                #expect(stored.allSatisfy { $0.chat.response == Self.tokens.joined() && $0.chat.status == .failed })
            }
        }
    }
}
