import Foundation
import Testing

@testable import ChatBridge

@Suite("Prompted tool calling: prompt, grammar, cache and mode")
struct PromptedToolFormatTests {
    static let weather = ToolDefinition(
        name: "get_weather", description: "Current weather for a city.",
        parameters: ["$schema": "https://json-schema.org/draft/2020-12/schema", "title": "Weather", "type": "object",
                     "properties": ["city": ["type": "string", "title": "City"], "unit": ["type": "string", "enum": ["c", "f"]]],
                     "required": ["city"], "additionalProperties": false])
    static let calculator = ToolDefinition(
        name: "calculator", description: "Evaluates arithmetic.",
        parameters: ["type": "object", "properties": ["expression": ["type": "string"]], "required": ["expression"]])

    @Test func rewriteDescribesToolsAndWritesHistoryAsText() throws {
        let request = LLMRequest(
            model: "m",
            messages: [.system("Be brief."), .user("Weather in Paris and 2+2?"),
                       .assistant("", toolCalls: [ToolCall(id: "a", name: "get_weather", arguments: #"{"city":"Paris"}"#),
                                                  ToolCall(id: "b", name: "calculator", arguments: #"{"expression":"2+2"}"#)]),
                       .tool(callId: "a", name: "get_weather", output: #"{"temp_c":18}"#, isError: false),
                       .tool(callId: "b", name: "calculator", output: #"{"result":4}"#, isError: false)],
            tools: [Self.weather, Self.calculator], toolChoice: .required)
        let block = PromptedToolFormat.toolsBlock(for: request.tools)
        let rewritten = PromptedToolFormat.rewrite(request, toolsBlock: block, grammar: "root ::= \"x\"")
        #expect(rewritten.tools.isEmpty, "no native tools field")
        #expect(rewritten.grammar == "root ::= \"x\"")
        #expect(rewritten.stop == ["<tool_response>"])
        #expect(rewritten.messages.count == 4, "system, user, assistant, one user turn with both results")
        guard case .system(let system) = rewritten.messages[0] else { Issue.record("no system message"); return }
        #expect(system.hasPrefix("Be brief.\n\n# Tools"))
        #expect(system.contains(#"{"type":"function","function":{"description":"Current weather for a city.","name":"get_weather","parameters":{"properties":{"city":{"type":"string"},"unit":{"enum":["c","f"],"type":"string"}},"required":["city"],"type":"object"}}}"#),
                "compact schema: no $schema, titles or additionalProperties:false")
        #expect(system.hasSuffix("You must call at least one function now."))
        #expect(rewritten.messages[2] == .assistant(
            "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\":\"Paris\"}}\n</tool_call>\n"
                + "<tool_call>\n{\"name\": \"calculator\", \"arguments\": {\"expression\":\"2+2\"}}\n</tool_call>"))
        #expect(rewritten.messages[3] == .user(
            "<tool_response>\n{\"name\": \"get_weather\", \"content\": {\"temp_c\":18}}\n</tool_response>\n"
                + "<tool_response>\n{\"name\": \"calculator\", \"content\": {\"result\":4}}\n</tool_response>\n"
                + PromptedToolFormat.resultsHint))
    }

    @Test func providerPassesPlainChatsThroughUntouched() async throws {
        let recorder = RecordingProvider(events: [.text("Hi"), .finish(.stop)])
        let provider = PromptedToolCallingProvider(wrapping: recorder, cache: ToolPromptCache(), constrainDecoding: true)
        let request = LLMRequest(model: "m", messages: [.system("s"), .user("hello")])
        var events: [LLMEvent] = []
        for try await event in try await provider.stream(request) { events.append(event) }
        #expect(events == [.text("Hi"), .finish(.stop)])
        #expect(recorder.requests == [request])
    }

    @Test func providerTurnsTextCallsIntoNativeEvents() async throws {
        let recorder = RecordingProvider(events: [
            .text("Checking.\n<tool"), .text("_call>{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\",}}</tool_call>\n"),
            .text(#"{"name": "calculator", "arguments": {"expression": "2+2"}}"#), .usage(Usage(promptTokens: 9, completionTokens: 7)),
            .finish(.stop),
        ])
        let cache = ToolPromptCache()
        let provider = PromptedToolCallingProvider(wrapping: recorder, cache: cache, constrainDecoding: true)
        let request = LLMRequest(model: "m", messages: [.user("hi")], tools: [Self.weather, Self.calculator])
        var events: [LLMEvent] = []
        for try await event in try await provider.stream(request) { events.append(event) }
        #expect(events.count == 9)
        #expect(events.first == .text("Checking."))
        guard case .toolCallStart(0, let firstId, "get_weather")? = events.dropFirst().first,
              case .toolCallStart(1, let secondId, "calculator") = events[4] else {
            Issue.record("unexpected events: \(events)")
            return
        }
        #expect(firstId != secondId && firstId.hasPrefix("call_"))
        #expect(Array(events[2...3]) == [.toolCallArguments(index: 0, delta: #"{"city":"Paris"}"#), .toolCallEnd(index: 0)])
        #expect(Array(events[5...8]) == [.toolCallArguments(index: 1, delta: #"{"expression":"2+2"}"#), .toolCallEnd(index: 1),
                                         .usage(Usage(promptTokens: 9, completionTokens: 7)), .finish(.toolCalls)])
        let sent = try #require(recorder.requests.first)
        #expect(sent.tools.isEmpty)
        #expect(sent.grammar?.hasPrefix("root ::= answer | calls") == true)

        // A second step with the same tools reuses the rendered prefix and grammar.
        for try await _ in try await provider.stream(request) {}
        #expect(cache.count == 1)
        #expect(recorder.requests.count == 2)
        #expect(recorder.requests[0].messages.first == recorder.requests[1].messages.first, "byte-identical system prefix")
    }

    @Test func grammarConstrainsNamesAndArguments() throws {
        let grammar = try #require(ToolCallGrammar.gbnf(for: [Self.weather, Self.calculator], choice: .auto))
        let rules = Dictionary(grammar.split(separator: "\n").map { line -> (String, String) in
            let parts = line.components(separatedBy: " ::= ")
            return (parts[0].trimmingCharacters(in: .whitespaces), parts.dropFirst().joined(separator: " ::= "))
        }, uniquingKeysWith: { first, _ in first })
        #expect(rules["root"] == "answer | calls")
        #expect(rules["call"] == "tool0 | tool1")
        #expect(rules["tool0"] == #""{" ws "\"name\"" ws ":" ws "\"get_weather\"" ws "," ws "\"arguments\"" ws ":" ws tool0-args ws "}""#)
        #expect(rules["tool0-args"] == #""{" ws "\"city\"" ws ":" ws string ( ws "," ws tool0-args-opt )* ws "}""#)
        #expect(rules["tool0-args-opt"] == #""\"unit\"" ws ":" ws tool0-args-p1"#)
        #expect(rules["tool0-args-p1"] == #""\"c\"" | "\"f\"""#)
        // Every rule used is defined.
        for (_, body) in rules {
            for token in body.split(separator: " ") where token.first?.isLetter == true && !token.contains("\"") && !token.contains("[") {
                let name = token.trimmingCharacters(in: CharacterSet(charactersIn: "()*?+|"))
                #expect(rules[name] != nil, "rule '\(name)' is used but not defined")
            }
        }
        #expect(ToolCallGrammar.gbnf(for: [Self.weather, Self.calculator], choice: .required)?.hasPrefix("root ::= calls\n") == true)
        #expect(ToolCallGrammar.gbnf(for: [Self.weather, Self.calculator], choice: .tool("calculator"))?.contains("call ::= tool1\n") == true)
        #expect(ToolCallGrammar.gbnf(for: [Self.weather], choice: .none) == nil)
    }

    @Test func autoModeIsNativeForVendorsAndPromptedForOtherServers() {
        func settings(_ kind: ProviderSettings.Kind, _ url: String) -> ProviderSettings {
            ProviderSettings(kind: kind, baseURL: url, apiKey: nil, model: "m")
        }
        #expect(ToolCallingMode.auto.resolved(for: settings(.openai, "https://api.openai.com/v1")) == .native)
        #expect(ToolCallingMode.auto.resolved(for: settings(.anthropic, "https://api.anthropic.com")) == .native)
        #expect(ToolCallingMode.auto.resolved(for: settings(.cohere, "https://api.cohere.com")) == .native)
        #expect(ToolCallingMode.auto.resolved(for: settings(.openai, "http://127.0.0.1:8088/v1")) == .prompted)
        #expect(ToolCallingMode.auto.resolved(for: settings(.openai, "https://llm.example.com/v1")) == .prompted)
        #expect(ToolCallingMode.native.resolved(for: settings(.openai, "http://127.0.0.1:8088/v1")) == .native)
        #expect(ToolCallingMode.prompted.resolved(for: settings(.anthropic, "https://api.anthropic.com")) == .prompted)
    }
}

/// A provider that records its requests and answers each with the same events.
final class RecordingProvider: LLMProvider, @unchecked Sendable {
    let kind = "openai"
    let events: [LLMEvent]
    private let lock = NSLock()
    private var recorded: [LLMRequest] = []

    init(events: [LLMEvent]) {
        self.events = events
    }

    var requests: [LLMRequest] { lock.withLock { recorded } }

    func stream(_ request: LLMRequest) async throws -> LLMEventStream {
        lock.withLock { recorded.append(request) }
        return LLMEventStream(events: events)
    }
}
