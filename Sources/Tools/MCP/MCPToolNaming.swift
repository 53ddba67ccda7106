import ChatBridge
import MCP

/// How an MCP server's tool becomes one of ours: `<server>__<tool>`, its input schema checked as
/// our own tools' are, the server's approval and timeout settings.
enum MCPToolNaming {
    struct Problem: Error {
        var message: String
    }

    static let separator = "__"

    static func spec(for tool: MCP.Tool, server: MCPServerConfiguration, timeoutMilliseconds: Int) -> Result<ToolSpec, Problem> {
        let name = server.name + separator + tool.name
        let allowed = tool.name.unicodeScalars.allSatisfy {
            ("a"..."z").contains($0) || ("A"..."Z").contains($0) || ("0"..."9").contains($0) || $0 == "_" || $0 == "-"
        }
        // Model APIs accept 1-64 of [A-Za-z0-9_-] as a tool name.
        guard allowed, !tool.name.isEmpty, name.count <= 64 else {
            return .failure(Problem(message: "'\(name.prefix(100))' is not a usable tool name (1-64 of A-Z, a-z, 0-9, '_', '-')"))
        }
        var parameters = MCPResultMapping.json(tool.inputSchema)
        if case .object(var fields) = parameters, fields["type"] == nil {
            fields["type"] = "object"
            parameters = .object(fields)
        }
        do {
            try JSONSchemaValidator.checkSchema(parameters)
        } catch {
            return .failure(Problem(message: "its input schema is not usable: \(error)"))
        }
        guard parameters["type"] == .string("object") else {
            return .failure(Problem(message: #"its input schema must have "type": "object""#))
        }
        let description = [tool.description, tool.title].compactMap { $0 }.first { !$0.isEmpty } ?? tool.name
        return .success(ToolSpec(name: name, description: description, parameters: parameters, executor: .server,
                                 requiresApproval: server.requiresApproval ?? false, timeoutMilliseconds: timeoutMilliseconds))
    }
}
