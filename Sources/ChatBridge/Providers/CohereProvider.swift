import AsyncHTTPClient
import Foundation
import Logging
import NIOHTTP1

/// Cohere's v2 chat API with `stream: true`.
public struct CohereProvider: LLMProvider {
    public let kind = "cohere"
    let transport: StreamingTransport

    public init(settings: ProviderSettings, client: HTTPClient, logger: Logger) {
        transport = StreamingTransport(client: client, settings: settings, logger: logger)
    }

    public func stream(_ request: LLMRequest) async throws -> LLMEventStream {
        var headers = HTTPHeaders()
        if let key = transport.settings.apiKey { headers.add(name: "authorization", value: "Bearer \(key)") }
        let url = transport.settings.baseURL.trimmingSuffix("/") + "/v2/chat"
        return try await transport.stream(
            url: url, headers: headers, body: Self.body(for: request).serialized(),
            decoder: CohereStreamDecoder(estimatedPromptTokens: TokenEstimate.count(request.messages)))
    }

    static func body(for request: LLMRequest) -> JSONValue {
        let messages: [JSONValue] = request.messages.map { message in
            switch message {
            case .system(let text):
                return ["role": "system", "content": .string(text)]
            case .user(let text, _):
                return ["role": "user", "content": .string(text)]
            case .assistant(let text, let calls) where calls.isEmpty:
                return ["role": "assistant", "content": .string(text)]
            case .assistant(let text, let calls):
                var fields: [String: JSONValue] = [
                    "role": "assistant",
                    "tool_calls": .array(calls.map { call in
                        ["id": .string(call.id), "type": "function",
                         "function": ["name": .string(call.name), "arguments": .string(call.arguments)]]
                    }),
                ]
                if !text.isEmpty { fields["tool_plan"] = .string(text) }
                return .object(fields)
            case .tool(let callId, _, let output, _):
                return ["role": "tool", "tool_call_id": .string(callId),
                        "content": [["type": "document", "document": ["data": .string(output)]]]]
            }
        }
        var body: [String: JSONValue] = ["model": .string(request.model), "messages": .array(messages), "stream": true]
        if let temperature = request.temperature { body["temperature"] = .number(min(temperature, 1)) }
        if let maxTokens = request.maxTokens { body["max_tokens"] = .number(Double(maxTokens)) }
        if !request.tools.isEmpty {
            var tools = request.tools
            if case .tool(let name) = request.toolChoice {
                // Cohere cannot name one tool: offering only that tool and requiring a call is equivalent.
                tools = tools.filter { $0.name == name }
            }
            body["tools"] = .array(tools.map { tool in
                ["type": "function",
                 "function": ["name": .string(tool.name), "description": .string(tool.description), "parameters": tool.parameters]]
            })
            switch request.toolChoice {
            case .auto: break
            case .none: body["tool_choice"] = "NONE"
            case .required, .tool: body["tool_choice"] = "REQUIRED"
            }
        }
        return .object(body)
    }
}

/// Decodes `message-start`, `content-delta`, `tool-plan-delta`, `tool-call-start/delta/end` and `message-end`.
struct CohereStreamDecoder: StreamDecoder {
    let estimatedPromptTokens: Int
    private var openCalls: [Int] = []
    private var usage: Usage?
    private var completionPieces = 0
    private var finishReason: FinishReason = .stop

    init(estimatedPromptTokens: Int) {
        self.estimatedPromptTokens = estimatedPromptTokens
    }

    mutating func decode(_ event: SSEEvent) throws -> [LLMEvent]? {
        if event.data == "[DONE]" { return nil }
        let json: JSONValue
        do {
            json = try JSONValue(parsing: event.data)
        } catch {
            throw APIError(.providerError, "cohere stream sent an event that is not valid JSON: \(event.data.prefix(200))")
        }
        let type = json["type"]?.stringValue ?? event.event
        let index = json["index"]?.intValue ?? 0
        switch type {
        case "content-delta":
            guard let text = json["delta"]?["message"]?["content"]?["text"]?.stringValue, !text.isEmpty else { return [] }
            completionPieces += 1
            return [.text(text)]
        case "tool-call-start":
            let call = json["delta"]?["message"]?["tool_calls"]
            openCalls.append(index)
            var events: [LLMEvent] = [.toolCallStart(index: index, id: call?["id"]?.stringValue ?? "call_\(index)",
                                                     name: call?["function"]?["name"]?.stringValue ?? "")]
            if let arguments = call?["function"]?["arguments"]?.stringValue, !arguments.isEmpty {
                events.append(.toolCallArguments(index: index, delta: arguments))
            }
            return events
        case "tool-call-delta":
            guard let arguments = json["delta"]?["message"]?["tool_calls"]?["function"]?["arguments"]?.stringValue,
                  !arguments.isEmpty else { return [] }
            completionPieces += 1
            return [.toolCallArguments(index: index, delta: arguments)]
        case "tool-call-end":
            openCalls.removeAll { $0 == index }
            return [.toolCallEnd(index: index)]
        case "message-end":
            let delta = json["delta"]
            let tokens = delta?["usage"]?["tokens"] ?? delta?["usage"]?["billed_units"]
            if let input = tokens?["input_tokens"]?.intValue, let output = tokens?["output_tokens"]?.intValue {
                usage = Usage(promptTokens: input, completionTokens: output)
            }
            switch delta?["finish_reason"]?.stringValue {
            case "MAX_TOKENS": finishReason = .length
            case "TOOL_CALL": finishReason = .toolCalls
            case "ERROR":
                throw APIError(.providerError, "cohere stream ended with an error: \(delta?["error"]?.stringValue ?? "unknown error")")
            default: finishReason = .stop
            }
            return nil
        default:
            return []  // message-start, content-start/end, tool-plan-delta, citations
        }
    }

    mutating func finish(complete: Bool) throws -> [LLMEvent] {
        guard complete else {
            throw APIError(.providerError, "cohere stream ended before message-end: the server stopped mid-answer.")
        }
        var events: [LLMEvent] = openCalls.map { .toolCallEnd(index: $0) }
        openCalls.removeAll()
        events.append(.usage(usage ?? Usage(promptTokens: estimatedPromptTokens, completionTokens: completionPieces)))
        events.append(.finish(finishReason))
        return events
    }
}
