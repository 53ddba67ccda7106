import AsyncHTTPClient
import Foundation
import Logging
import NIOHTTP1

/// Any server speaking OpenAI's chat completions API: OpenAI, llama.cpp, Ollama, vLLM, LiteLLM…
public struct OpenAIProvider: LLMProvider {
    public let kind = "openai"
    let transport: StreamingTransport

    public init(settings: ProviderSettings, client: HTTPClient, logger: Logger) {
        transport = StreamingTransport(client: client, settings: settings, logger: logger)
    }

    public func stream(_ request: LLMRequest) async throws -> LLMEventStream {
        var headers = HTTPHeaders()
        if let key = transport.settings.apiKey { headers.add(name: "authorization", value: "Bearer \(key)") }
        let url = transport.settings.baseURL.trimmingSuffix("/") + "/chat/completions"
        return try await transport.stream(
            url: url, headers: headers, body: Self.bodyBytes(for: request, promptCache: transport.settings.promptCache),
            decoder: OpenAIStreamDecoder(promptMessages: request.messages))
    }

    /// The request body as a JSON tree: the reference ``bodyBytes(for:promptCache:)`` writes byte for byte.
    static func body(for request: LLMRequest, promptCache: Bool = false) -> JSONValue {
        var body: [String: JSONValue] = [
            "model": .string(request.model),
            "messages": .array(request.messages.map(message)),
            "stream": true,
            "stream_options": ["include_usage": true],
        ]
        if let temperature = request.temperature { body["temperature"] = .number(temperature) }
        if let maxTokens = request.maxTokens { body["max_tokens"] = .number(Double(maxTokens)) }
        if !request.stop.isEmpty { body["stop"] = .array(request.stop.map { .string($0) }) }
        // llama.cpp extensions, set only for servers that understand them.
        if let grammar = request.grammar { body["grammar"] = .string(grammar) }
        if promptCache { body["cache_prompt"] = true }
        if !request.tools.isEmpty {
            body["tools"] = .array(request.tools.map { tool in
                ["type": "function",
                 "function": ["name": .string(tool.name), "description": .string(tool.description), "parameters": tool.parameters]]
            })
            switch request.toolChoice {
            case .auto: body["tool_choice"] = "auto"
            case .none: body["tool_choice"] = "none"
            case .required: body["tool_choice"] = "required"
            case .tool(let name): body["tool_choice"] = ["type": "function", "function": ["name": .string(name)]]
            }
        }
        return .object(body)
    }

    static func message(_ message: LLMMessage) -> JSONValue {
        switch message {
        case .system(let text):
            return ["role": "system", "content": .string(text)]
        case .user(let text, let images) where images.isEmpty:
            return ["role": "user", "content": .string(text)]
        case .user(let text, let images):
            var parts: [JSONValue] = [["type": "text", "text": .string(text)]]
            for image in images {
                parts.append(["type": "image_url", "image_url": ["url": .string("data:\(image.mime);base64,\(image.base64)")]])
            }
            return ["role": "user", "content": .array(parts)]
        case .assistant(let text, let calls):
            // llama.cpp rejects `"content": null` beside tool calls, so an empty string is sent.
            var fields: [String: JSONValue] = ["role": "assistant", "content": .string(text)]
            if !calls.isEmpty {
                fields["tool_calls"] = .array(calls.map { call in
                    ["id": .string(call.id), "type": "function",
                     "function": ["name": .string(call.name), "arguments": .string(call.arguments)]]
                })
            }
            return .object(fields)
        case .tool(let callId, _, let output, _):
            return ["role": "tool", "tool_call_id": .string(callId), "content": .string(output)]
        }
    }
}

/// Decodes `chat.completion.chunk` events.
///
/// Tool-call deltas are merged by `index`: the `id` and `name` are taken the first time an index
/// appears (llama.cpp repeats them on every chunk) and only `arguments` is appended afterwards.
struct OpenAIStreamDecoder: StreamDecoder {
    /// The conversation sent, to estimate its tokens only for a server that reports no usage.
    let promptMessages: [LLMMessage]
    private var openCalls: [Int] = []
    private var sawUsage = false
    private var completionPieces = 0
    private var finishReason: FinishReason?

    init(promptMessages: [LLMMessage]) {
        self.promptMessages = promptMessages
    }

    /// The fields of a chunk the decoder reads (others are ignored). Read by ``OpenAIChunkReader``,
    /// with `JSONDecoder` as the fallback for anything it does not take.
    struct Chunk: Decodable, Equatable {
        struct Choice: Decodable, Equatable {
            struct Delta: Decodable, Equatable {
                struct ToolCallDelta: Decodable, Equatable {
                    struct Function: Decodable, Equatable {
                        var name: String?
                        var arguments: String?
                    }
                    var index: Int?
                    var id: String?
                    var function: Function?
                }
                var content: String?
                var tool_calls: [ToolCallDelta]?
            }
            var delta: Delta?
            var finish_reason: String?
        }
        struct UsageBody: Decodable, Equatable {
            var prompt_tokens: Int?
            var completion_tokens: Int?
        }
        struct ErrorBody: Decodable, Equatable {
            var message: String?
        }
        var choices: [Choice]?
        var usage: UsageBody?
        var error: ErrorBody?
    }

    mutating func decode(_ event: SSEEvent) throws -> [LLMEvent]? {
        let data = event.data
        if data == "[DONE]" { return nil }
        let chunk = try Self.chunk(data)
        if let error = chunk.error {
            throw APIError(.providerError, "openai stream reported an error: \(error.message ?? "unknown error")")
        }
        var events: [LLMEvent] = []
        for choice in chunk.choices ?? [] {
            if let text = choice.delta?.content, !text.isEmpty {
                completionPieces += 1
                events.append(.text(text))
            }
            for (position, call) in (choice.delta?.tool_calls ?? []).enumerated() {
                let index = call.index ?? position
                if !openCalls.contains(index) {
                    openCalls.append(index)
                    events.append(.toolCallStart(index: index, id: call.id ?? "call_\(index)", name: call.function?.name ?? ""))
                }
                if let arguments = call.function?.arguments, !arguments.isEmpty {
                    completionPieces += 1
                    events.append(.toolCallArguments(index: index, delta: arguments))
                }
            }
            if let reason = choice.finish_reason {
                finishReason = Self.finishReason(reason)
            }
        }
        if let usage = chunk.usage, usage.prompt_tokens != nil || usage.completion_tokens != nil {
            sawUsage = true
            events.append(.usage(Usage(promptTokens: usage.prompt_tokens ?? 0, completionTokens: usage.completion_tokens ?? 0)))
        }
        return events
    }

    mutating func finish(complete: Bool) throws -> [LLMEvent] {
        guard complete else {
            throw APIError(.providerError, "openai stream ended before [DONE]: the server stopped mid-answer.")
        }
        var events: [LLMEvent] = openCalls.map { .toolCallEnd(index: $0) }
        openCalls.removeAll()
        if !sawUsage {
            // Each streamed delta is one token on the servers that omit usage (llama.cpp, older vLLM).
            events.append(.usage(Usage(promptTokens: TokenEstimate.count(promptMessages), completionTokens: completionPieces)))
        }
        events.append(.finish(finishReason ?? .stop))
        return events
    }

    /// The chunk `data` carries: read by ``OpenAIChunkReader`` (a chunk is decoded per token, and
    /// `JSONDecoder` was the largest single cost of relaying one), or by `JSONDecoder` when the
    /// reader does not take it (unusual types or syntax), so invalid chunks fail as before.
    static func chunk(_ data: String) throws -> Chunk {
        if let chunk = OpenAIChunkReader.read(data) { return chunk }
        do {
            return try JSONDecoder().decode(Chunk.self, from: Data(data.utf8))
        } catch {
            throw APIError(.providerError, "openai stream sent a chunk that is not valid JSON: \(data.prefix(200))")
        }
    }

    static func finishReason(_ text: String) -> FinishReason {
        switch text {
        case "stop", "end_turn": .stop
        case "length": .length
        case "tool_calls", "function_call": .toolCalls
        case "content_filter": .contentFilter
        default: .other
        }
    }
}

extension String {
    func trimmingSuffix(_ suffix: String) -> String {
        var result = self
        while result.hasSuffix(suffix) { result.removeLast(suffix.count) }
        return result
    }
}
