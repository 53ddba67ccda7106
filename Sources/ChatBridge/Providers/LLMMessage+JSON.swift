/// Messages as JSON, so an agent run's conversation can be stored and continued after a restart.
extension LLMMessage {
    public var json: JSONValue {
        switch self {
        case .system(let text):
            return ["role": "system", "content": .string(text)]
        case .user(let text, let images):
            var object: [String: JSONValue] = ["role": "user", "content": .string(text)]
            if !images.isEmpty {
                object["images"] = .array(images.map { ["mime": .string($0.mime), "base64": .string($0.base64)] })
            }
            return .object(object)
        case .assistant(let text, let toolCalls):
            var object: [String: JSONValue] = ["role": "assistant", "content": .string(text)]
            if !toolCalls.isEmpty { object["tool_calls"] = .array(toolCalls.map(\.json)) }
            return .object(object)
        case .tool(let callId, let name, let output, let isError):
            return ["role": "tool", "call_id": .string(callId), "name": .string(name), "content": .string(output),
                    "is_error": .bool(isError)]
        }
    }

    /// The message `json` describes; `nil` for anything else.
    public init?(json: JSONValue) {
        guard let role = json["role"]?.stringValue, let content = json["content"]?.stringValue else { return nil }
        switch role {
        case "system":
            self = .system(content)
        case "user":
            let images = json["images"]?.arrayValue?.compactMap { image -> ImageAttachment? in
                guard let mime = image["mime"]?.stringValue, let base64 = image["base64"]?.stringValue else { return nil }
                return ImageAttachment(mime: mime, base64: base64)
            } ?? []
            self = .user(content, images: images)
        case "assistant":
            self = .assistant(content, toolCalls: json["tool_calls"]?.arrayValue?.compactMap(ToolCall.init(json:)) ?? [])
        case "tool":
            guard let callId = json["call_id"]?.stringValue, let name = json["name"]?.stringValue else { return nil }
            self = .tool(callId: callId, name: name, output: content, isError: json["is_error"]?.boolValue ?? false)
        default:
            return nil
        }
    }
}

extension ToolCall {
    public var json: JSONValue {
        ["id": .string(id), "name": .string(name), "arguments": .string(arguments)]
    }

    public init?(json: JSONValue) {
        guard let id = json["id"]?.stringValue, let name = json["name"]?.stringValue,
              let arguments = json["arguments"]?.stringValue else { return nil }
        self.init(id: id, name: name, arguments: arguments)
    }
}
