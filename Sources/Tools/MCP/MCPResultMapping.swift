import ChatBridge
import Foundation
import MCP

/// Turns MCP values into ours and back, and a `tools/call` result into a `tool_result`.
enum MCPResultMapping {
    /// `structuredContent` when the server sent it (the tool's typed answer); else the text, a
    /// single string for one text item, an array of items for several. Non-text items are
    /// described (type, MIME type, size or URI), not inlined: base64 blobs only waste the context.
    /// An error result is `{"error": text}` with `is_error`, as for built-in tools.
    static func result(_ result: CallTool.Result) -> ExternalToolResult {
        let items = result.content.map(item)
        let text = items.compactMap(\.stringValue).joined(separator: "\n")
        if result.isError == true {
            return ExternalToolResult(output: ["error": .string(text.isEmpty ? "The MCP tool reported an error." : text)],
                                      failure: .failed)
        }
        if let structured = result.structuredContent {
            return ExternalToolResult(output: json(structured))
        }
        switch items.count {
        case 0: return ExternalToolResult(output: .string(""))
        case 1: return ExternalToolResult(output: items[0])
        default: return ExternalToolResult(output: .array(items))
        }
    }

    private static func item(_ content: MCP.Tool.Content) -> JSONValue {
        switch content {
        case .text(let text, _, _):
            return .string(text)
        case .image(let data, let mimeType, _, _):
            return ["type": "image", "mime_type": .string(mimeType), "base64_bytes": .int(data.utf8.count)]
        case .audio(let data, let mimeType, _, _):
            return ["type": "audio", "mime_type": .string(mimeType), "base64_bytes": .int(data.utf8.count)]
        case .resource(let resource, _, _):
            if let text = resource.text { return .string(text) }
            return ["type": "resource", "uri": .string(resource.uri)]
        case .resourceLink(let uri, let name, _, let description, let mimeType, _):
            var link: [String: JSONValue] = ["type": "resource_link", "uri": .string(uri), "name": .string(name)]
            if let description { link["description"] = .string(description) }
            if let mimeType { link["mime_type"] = .string(mimeType) }
            return .object(link)
        }
    }

    /// An MCP value as JSON (their encodings agree; this goes through it).
    static func json(_ value: Value) -> JSONValue {
        guard let data = try? JSONEncoder().encode(value), let json = try? JSONValue(parsing: data) else { return .null }
        return json
    }

    /// Arguments as MCP values.
    static func arguments(_ json: JSONValue) -> [String: Value] {
        guard case .object = json, let data = try? JSONEncoder().encode(json),
              let value = try? JSONDecoder().decode([String: Value].self, from: data) else { return [:] }
        return value
    }
}
