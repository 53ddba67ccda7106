import ChatBridge

/// Streams in the exact wire formats of the three vendors.
public enum VendorStream {
    // MARK: OpenAI chat.completion.chunk

    /// An OpenAI `chat.completion.chunk` stream: a role chunk, one chunk per token, the finish reason,
    /// the usage chunk when `usage` is given, then `[DONE]`.
    public static func openAI(tokens: [String], usage: Usage? = Usage(promptTokens: 5, completionTokens: 3),
                              finishReason: String = "stop") -> UpstreamScript {
        var parts = [openAIChunk(delta: ["role": "assistant", "content": ""])]
        parts += tokens.map { openAIChunk(delta: ["content": .string($0)]) }
        parts.append(openAIChunk(delta: [:], finishReason: finishReason))
        if let usage { parts.append(openAIUsage(usage)) }
        parts.append(.bytes("data: [DONE]\n\n"))
        return UpstreamScript(parts: parts)
    }

    /// Tool calls split across chunks; with `repeatIdentity`, every chunk repeats `id` and `name` as llama.cpp does.
    public static func openAIToolCalls(_ calls: [(id: String, name: String, arguments: String)], repeatIdentity: Bool = false,
                                       splitEvery: Int = 4) -> UpstreamScript {
        var parts = [openAIChunk(delta: ["role": "assistant", "content": .null])]
        for (index, call) in calls.enumerated() {
            var first: [String: JSONValue] = ["index": .number(Double(index)), "id": .string(call.id), "type": "function",
                                              "function": ["name": .string(call.name), "arguments": ""]]
            parts.append(openAIChunk(delta: ["tool_calls": [.object(first)]]))
            for piece in call.arguments.chunked(splitEvery) {
                var delta: [String: JSONValue] = ["index": .number(Double(index)), "function": ["arguments": .string(piece)]]
                if repeatIdentity {
                    delta["id"] = .string(call.id)
                    delta["function"] = ["name": .string(call.name), "arguments": .string(piece)]
                }
                first = delta
                parts.append(openAIChunk(delta: ["tool_calls": [.object(delta)]]))
            }
        }
        parts.append(openAIChunk(delta: [:], finishReason: "tool_calls"))
        parts.append(.bytes("data: [DONE]\n\n"))
        return UpstreamScript(parts: parts)
    }

    /// One OpenAI `chat.completion.chunk` event with `delta`.
    public static func openAIChunk(delta: JSONValue, finishReason: String? = nil) -> UpstreamScript.Part {
        let chunk: JSONValue = [
            "id": "chatcmpl-test", "object": "chat.completion.chunk", "created": 1_700_000_000, "model": "fake",
            "choices": [["index": 0, "delta": delta, "finish_reason": finishReason.map { .string($0) } ?? .null]],
        ]
        return .bytes("data: \(chunk.serializedString)\n\n")
    }

    /// The OpenAI usage chunk (empty `choices`), as sent with `stream_options.include_usage`.
    public static func openAIUsage(_ usage: Usage) -> UpstreamScript.Part {
        let chunk: JSONValue = [
            "id": "chatcmpl-test", "object": "chat.completion.chunk", "created": 1_700_000_000, "model": "fake", "choices": [],
            "usage": ["prompt_tokens": .number(Double(usage.promptTokens)), "completion_tokens": .number(Double(usage.completionTokens)),
                      "total_tokens": .number(Double(usage.promptTokens + usage.completionTokens))],
        ]
        return .bytes("data: \(chunk.serializedString)\n\n")
    }

    // MARK: Anthropic Messages

    /// An Anthropic Messages stream: `message_start`, a text block of `tokens` (with a `ping`), one
    /// `tool_use` block per call with its input as `input_json_delta` pieces, `message_delta`, `message_stop`.
    public static func anthropic(tokens: [String], toolCalls: [(id: String, name: String, arguments: String)] = [],
                                 inputTokens: Int = 7, outputTokens: Int = 4) -> UpstreamScript {
        var parts: [UpstreamScript.Part] = [
            anthropicEvent("message_start", ["type": "message_start", "message": [
                "id": "msg_test", "type": "message", "role": "assistant", "content": [], "model": "claude-test",
                "stop_reason": .null, "usage": ["input_tokens": .number(Double(inputTokens)), "output_tokens": 1]]]),
        ]
        var block = 0
        if !tokens.isEmpty {
            parts.append(anthropicEvent("content_block_start", ["type": "content_block_start", "index": 0,
                                                                "content_block": ["type": "text", "text": ""]]))
            parts.append(anthropicEvent("ping", ["type": "ping"]))
            for token in tokens {
                parts.append(anthropicEvent("content_block_delta", ["type": "content_block_delta", "index": 0,
                                                                    "delta": ["type": "text_delta", "text": .string(token)]]))
            }
            parts.append(anthropicEvent("content_block_stop", ["type": "content_block_stop", "index": 0]))
            block = 1
        }
        for call in toolCalls {
            let index = JSONValue.number(Double(block))
            parts.append(anthropicEvent("content_block_start", ["type": "content_block_start", "index": index,
                                                                "content_block": ["type": "tool_use", "id": .string(call.id),
                                                                                  "name": .string(call.name), "input": [:]]]))
            for piece in call.arguments.chunked(5) {
                parts.append(anthropicEvent("content_block_delta", ["type": "content_block_delta", "index": index,
                                                                    "delta": ["type": "input_json_delta", "partial_json": .string(piece)]]))
            }
            parts.append(anthropicEvent("content_block_stop", ["type": "content_block_stop", "index": index]))
            block += 1
        }
        parts.append(anthropicEvent("message_delta", ["type": "message_delta",
                                                      "delta": ["stop_reason": toolCalls.isEmpty ? "end_turn" : "tool_use", "stop_sequence": .null],
                                                      "usage": ["output_tokens": .number(Double(outputTokens))]]))
        parts.append(anthropicEvent("message_stop", ["type": "message_stop"]))
        return UpstreamScript(parts: parts)
    }

    /// One named Anthropic server-sent event.
    public static func anthropicEvent(_ name: String, _ data: JSONValue) -> UpstreamScript.Part {
        .bytes("event: \(name)\ndata: \(data.serializedString)\n\n")
    }

    // MARK: Cohere v2

    /// A Cohere v2 chat stream: `message-start`, a text content block of `tokens`, one tool call per
    /// call in `tool-call-*` events, then `message-end` with the finish reason and token counts.
    public static func cohere(tokens: [String], toolCalls: [(id: String, name: String, arguments: String)] = [],
                              usage: Usage = Usage(promptTokens: 9, completionTokens: 6)) -> UpstreamScript {
        var parts: [UpstreamScript.Part] = [
            cohereEvent("message-start", ["type": "message-start", "id": "c-test",
                                          "delta": ["message": ["role": "assistant", "content": [], "tool_plan": "", "tool_calls": []]]]),
        ]
        if !tokens.isEmpty {
            parts.append(cohereEvent("content-start", ["type": "content-start", "index": 0,
                                                       "delta": ["message": ["content": ["type": "text", "text": ""]]]]))
            for token in tokens {
                parts.append(cohereEvent("content-delta", ["type": "content-delta", "index": 0,
                                                           "delta": ["message": ["content": ["text": .string(token)]]]]))
            }
            parts.append(cohereEvent("content-end", ["type": "content-end", "index": 0]))
        }
        for (index, call) in toolCalls.enumerated() {
            let position = JSONValue.number(Double(index))
            parts.append(cohereEvent("tool-call-start", ["type": "tool-call-start", "index": position, "delta": ["message": [
                "tool_calls": ["id": .string(call.id), "type": "function", "function": ["name": .string(call.name), "arguments": ""]]]]]))
            for piece in call.arguments.chunked(5) {
                parts.append(cohereEvent("tool-call-delta", ["type": "tool-call-delta", "index": position, "delta": ["message": [
                    "tool_calls": ["function": ["arguments": .string(piece)]]]]]))
            }
            parts.append(cohereEvent("tool-call-end", ["type": "tool-call-end", "index": position]))
        }
        let tokenCounts: JSONValue = ["input_tokens": .number(Double(usage.promptTokens)),
                                      "output_tokens": .number(Double(usage.completionTokens))]
        parts.append(cohereEvent("message-end", ["type": "message-end", "delta": [
            "finish_reason": toolCalls.isEmpty ? "COMPLETE" : "TOOL_CALL",
            "usage": ["billed_units": tokenCounts, "tokens": tokenCounts]]]))
        return UpstreamScript(parts: parts)
    }

    /// One named Cohere v2 server-sent event.
    public static func cohereEvent(_ name: String, _ data: JSONValue) -> UpstreamScript.Part {
        .bytes("event: \(name)\ndata: \(data.serializedString)\n\n")
    }
}

extension String {
    /// Consecutive pieces of at most `size` characters (how the streams split tool-call arguments).
    fileprivate func chunked(_ size: Int) -> [String] {
        var pieces: [String] = []
        var current = ""
        for character in self {
            current.append(character)
            if current.count == size {
                pieces.append(current)
                current = ""
            }
        }
        if !current.isEmpty || pieces.isEmpty { pieces.append(current) }
        return pieces
    }
}
