import AsyncHTTPClient
import Foundation
import Logging
import NIOHTTP1

/// Anthropic's Messages API with `stream: true`.
public struct AnthropicProvider: LLMProvider {
    public let kind = "anthropic"
    static let apiVersion = "2023-06-01"
    static let defaultMaxTokens = 4096
    let transport: StreamingTransport

    public init(settings: ProviderSettings, client: HTTPClient, logger: Logger) {
        transport = StreamingTransport(client: client, settings: settings, logger: logger)
    }

    public func stream(_ request: LLMRequest) async throws -> LLMEventStream {
        var headers = HTTPHeaders()
        headers.add(name: "anthropic-version", value: Self.apiVersion)
        if let key = transport.settings.apiKey { headers.add(name: "x-api-key", value: key) }
        let url = transport.settings.baseURL.trimmingSuffix("/") + "/v1/messages"
        return try await transport.stream(url: url, headers: headers, body: Self.body(for: request).serialized(),
                                          decoder: AnthropicStreamDecoder())
    }

    static func body(for request: LLMRequest) -> JSONValue {
        var system: [String] = []
        var messages: [(role: String, blocks: [JSONValue])] = []
        func append(_ role: String, _ blocks: [JSONValue]) {
            // The API wants user and assistant turns to alternate: consecutive turns of one role merge.
            if let last = messages.last, last.role == role {
                messages[messages.count - 1].blocks += blocks
            } else {
                messages.append((role, blocks))
            }
        }
        for message in request.messages {
            switch message {
            case .system(let text):
                system.append(text)
            case .user(let text, let images):
                var blocks: [JSONValue] = images.map { image in
                    ["type": "image", "source": ["type": "base64", "media_type": .string(image.mime), "data": .string(image.base64)]]
                }
                blocks.append(["type": "text", "text": .string(text)])
                append("user", blocks)
            case .assistant(let text, let calls):
                var blocks: [JSONValue] = text.isEmpty ? [] : [["type": "text", "text": .string(text)]]
                for call in calls {
                    let input = (try? JSONValue(parsing: call.arguments)).flatMap { $0.objectValue.map(JSONValue.object) } ?? [:]
                    blocks.append(["type": "tool_use", "id": .string(call.id), "name": .string(call.name), "input": input])
                }
                append("assistant", blocks.isEmpty ? [["type": "text", "text": "…"]] : blocks)
            case .tool(let callId, _, let output, let isError):
                append("user", [["type": "tool_result", "tool_use_id": .string(callId), "content": .string(output),
                                 "is_error": .bool(isError)]])
            }
        }
        var body: [String: JSONValue] = [
            "model": .string(request.model),
            "max_tokens": .number(Double(request.maxTokens ?? defaultMaxTokens)),
            "stream": true,
            "messages": .array(messages.map { ["role": .string($0.role), "content": .array($0.blocks)] }),
        ]
        if !system.isEmpty { body["system"] = .string(system.joined(separator: "\n\n")) }
        if let temperature = request.temperature { body["temperature"] = .number(min(temperature, 1)) }
        if !request.tools.isEmpty {
            body["tools"] = .array(request.tools.map { tool in
                ["name": .string(tool.name), "description": .string(tool.description), "input_schema": tool.parameters]
            })
            switch request.toolChoice {
            case .auto: body["tool_choice"] = ["type": "auto"]
            case .none: body["tool_choice"] = ["type": "none"]
            case .required: body["tool_choice"] = ["type": "any"]
            case .tool(let name): body["tool_choice"] = ["type": "tool", "name": .string(name)]
            }
        }
        return .object(body)
    }
}

/// Decodes `message_start`, `content_block_*`, `message_delta`, `message_stop`, `ping` and `error`.
struct AnthropicStreamDecoder: StreamDecoder {
    /// Content block index → tool call index, for `tool_use` blocks.
    private var toolBlocks: [Int: Int] = [:]
    private var toolCount = 0
    private var usage = Usage.zero
    private var finishReason: FinishReason = .stop

    mutating func decode(_ event: SSEEvent) throws -> [LLMEvent]? {
        let json: JSONValue
        do {
            json = try JSONValue(parsing: event.data)
        } catch {
            throw APIError(.providerError, "anthropic stream sent an event that is not valid JSON: \(event.data.prefix(200))")
        }
        let type = json["type"]?.stringValue ?? event.event
        switch type {
        case "message_start":
            usage.promptTokens = json["message"]?["usage"]?["input_tokens"]?.intValue ?? 0
            usage.completionTokens = json["message"]?["usage"]?["output_tokens"]?.intValue ?? 0
            return []
        case "content_block_start":
            guard let block = json["content_block"], let index = json["index"]?.intValue else { return [] }
            if block["type"]?.stringValue == "tool_use" {
                let callIndex = toolCount
                toolCount += 1
                toolBlocks[index] = callIndex
                return [.toolCallStart(index: callIndex, id: block["id"]?.stringValue ?? "toolu_\(callIndex)",
                                       name: block["name"]?.stringValue ?? "")]
            }
            if let text = block["text"]?.stringValue, !text.isEmpty { return [.text(text)] }
            return []
        case "content_block_delta":
            guard let delta = json["delta"], let index = json["index"]?.intValue else { return [] }
            switch delta["type"]?.stringValue {
            case "text_delta":
                guard let text = delta["text"]?.stringValue, !text.isEmpty else { return [] }
                return [.text(text)]
            case "input_json_delta":
                guard let callIndex = toolBlocks[index], let partial = delta["partial_json"]?.stringValue, !partial.isEmpty
                else { return [] }
                return [.toolCallArguments(index: callIndex, delta: partial)]
            default:
                return []  // thinking and signature deltas are not part of the answer
            }
        case "content_block_stop":
            guard let index = json["index"]?.intValue, let callIndex = toolBlocks.removeValue(forKey: index) else { return [] }
            return [.toolCallEnd(index: callIndex)]
        case "message_delta":
            if let output = json["usage"]?["output_tokens"]?.intValue { usage.completionTokens = output }
            if let input = json["usage"]?["input_tokens"]?.intValue, input > 0 { usage.promptTokens = input }
            if let reason = json["delta"]?["stop_reason"]?.stringValue {
                finishReason = switch reason {
                case "end_turn", "stop_sequence": .stop
                case "max_tokens": .length
                case "tool_use": .toolCalls
                case "refusal": .contentFilter
                default: .other
                }
            }
            return []
        case "message_stop":
            return nil
        case "error":
            let message = json["error"]?["message"]?.stringValue ?? "unknown error"
            let kind = json["error"]?["type"]?.stringValue.map { " (\($0))" } ?? ""
            throw APIError(.providerError, "anthropic stream reported an error\(kind): \(message)")
        default:
            return []  // ping and future event types
        }
    }

    mutating func finish(complete: Bool) throws -> [LLMEvent] {
        guard complete else {
            throw APIError(.providerError, "anthropic stream ended before message_stop: the server stopped mid-answer.")
        }
        var events: [LLMEvent] = toolBlocks.values.sorted().map { .toolCallEnd(index: $0) }
        toolBlocks.removeAll()
        events.append(.usage(usage))
        events.append(.finish(finishReason))
        return events
    }
}
