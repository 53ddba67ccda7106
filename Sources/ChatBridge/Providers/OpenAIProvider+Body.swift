/// The request body written straight to bytes: the conversation is re-sent on every step of an agent
/// run, and building it as a ``JSONValue`` tree first (a dictionary per message, keys sorted on the
/// way out) was most of the cost of sending the next request. The bytes are exactly those of
/// `body(for:promptCache:).serialized()` — same keys in the same (sorted) order, same escaping and
/// number format — which `OpenAIRequestBodyTests` checks; keep the two in step.
extension OpenAIProvider {
    static func bodyBytes(for request: LLMRequest, promptCache: Bool = false) -> [UInt8] {
        var writer = JSONBytesWriter(capacity: estimatedSize(of: request))
        writer.object { body in
            // Keys in sorted order, as JSONValue.serialized() writes them.
            if promptCache { body.field("cache_prompt") { $0.literal("true") } }
            if let grammar = request.grammar { body.field("grammar") { $0.string(grammar) } }
            if let maxTokens = request.maxTokens { body.field("max_tokens") { $0.number(Double(maxTokens)) } }
            body.field("messages") { value in
                value.array(request.messages) { $0.message($1) }
            }
            body.field("model") { $0.string(request.model) }
            if !request.stop.isEmpty { body.field("stop") { $0.array(request.stop) { $0.string($1) } } }
            body.field("stream") { $0.literal("true") }
            body.field("stream_options") { $0.literal(#"{"include_usage":true}"#) }
            if let temperature = request.temperature { body.field("temperature") { $0.number(temperature) } }
            if !request.tools.isEmpty {
                body.field("tool_choice") { value in
                    switch request.toolChoice {
                    case .auto: value.string("auto")
                    case .none: value.string("none")
                    case .required: value.string("required")
                    case .tool(let name):
                        value.object { choice in
                            choice.field("function") { $0.object { $0.field("name") { $0.string(name) } } }
                            choice.field("type") { $0.string("function") }
                        }
                    }
                }
                body.field("tools") { value in
                    value.array(request.tools) { value, tool in
                        value.object { entry in
                            entry.field("function") { value in
                                value.object { function in
                                    function.field("description") { $0.string(tool.description) }
                                    function.field("name") { $0.string(tool.name) }
                                    function.field("parameters") { $0.json(tool.parameters) }
                                }
                            }
                            entry.field("type") { $0.string("function") }
                        }
                    }
                }
            }
        }
        return writer.bytes
    }

    /// Room for the texts plus some framing, so the buffer grows at most once or twice.
    private static func estimatedSize(of request: LLMRequest) -> Int {
        request.messages.reduce(256) { total, message in
            total + 64 + {
                switch message {
                case .system(let text): text.utf8.count
                case .user(let text, let images): text.utf8.count + images.reduce(0) { $0 + $1.base64.utf8.count + 64 }
                case .assistant(let text, let calls): text.utf8.count + calls.reduce(0) { $0 + $1.arguments.utf8.count + 96 }
                case .tool(_, _, let output, _): output.utf8.count + 48
                }
            }()
        } + request.tools.count * 512
    }
}

extension JSONBytesWriter {
    /// One message, as ``OpenAIProvider/message(_:)`` builds it.
    fileprivate mutating func message(_ message: LLMMessage) {
        object { fields in
            switch message {
            case .system(let text):
                fields.field("content") { $0.string(text) }
                fields.field("role") { $0.string("system") }
            case .user(let text, let images) where images.isEmpty:
                fields.field("content") { $0.string(text) }
                fields.field("role") { $0.string("user") }
            case .user(let text, let images):
                fields.field("content") { value in
                    value.arrayElements { parts in
                        parts.element { $0.object { part in
                            part.field("text") { $0.string(text) }
                            part.field("type") { $0.string("text") }
                        } }
                        for image in images {
                            parts.element { $0.object { part in
                                part.field("image_url") { $0.object { $0.field("url") { $0.string("data:\(image.mime);base64,\(image.base64)") } } }
                                part.field("type") { $0.string("image_url") }
                            } }
                        }
                    }
                }
                fields.field("role") { $0.string("user") }
            case .assistant(let text, let calls):
                // llama.cpp rejects `"content": null` beside tool calls, so an empty string is sent.
                fields.field("content") { $0.string(text) }
                fields.field("role") { $0.string("assistant") }
                if !calls.isEmpty {
                    fields.field("tool_calls") { value in
                        value.array(calls) { value, call in
                            value.object { entry in
                                entry.field("function") { value in
                                    value.object { function in
                                        function.field("arguments") { $0.string(call.arguments) }
                                        function.field("name") { $0.string(call.name) }
                                    }
                                }
                                entry.field("id") { $0.string(call.id) }
                                entry.field("type") { $0.string("function") }
                            }
                        }
                    }
                }
            case .tool(let callId, _, let output, _):
                fields.field("content") { $0.string(output) }
                fields.field("role") { $0.string("tool") }
                fields.field("tool_call_id") { $0.string(callId) }
            }
        }
    }
}
