import ChatBridge
import Foundation
import Tools

/// `agent_invoke` (WebSocket) and `POST /api/agent/invocations/` (REST): what a client asks an agent to do.
struct AgentInvokeRequest: Decodable, Sendable {
    struct ClientTool: Decodable, Sendable {
        var name: String
        var description: String?
        var parameters: JSONValue?
        var executor: ToolExecutor?
        var requiresApproval: Bool?
        var timeoutMs: Int?
    }

    /// `"auto"`, `"required"`, `"none"`, or `{"name": tool}`: how the first model step must use tools.
    enum ToolChoiceField: Decodable, Sendable {
        case choice(ToolChoice)

        init(from decoder: any Decoder) throws {
            let container = try decoder.singleValueContainer()
            if let text = try? container.decode(String.self) {
                switch text {
                case "auto": self = .choice(.auto)
                case "required": self = .choice(.required)
                case "none": self = .choice(.none)
                default:
                    throw DecodingError.dataCorruptedError(in: container, debugDescription: "use auto, required, none or {\"name\": tool}")
                }
            } else {
                struct Named: Decodable { var name: String }
                self = .choice(.tool(try container.decode(Named.self).name))
            }
        }
    }

    var message: String
    var workspace: String?
    var thread: String?
    var clientTools: [ClientTool]?
    var tools: [String]?
    var maxSteps: Int?
    var requestId: String?
    var toolChoice: ToolChoiceField?
}

/// Limits of the agent engine, all configurable.
package struct AgentLimits: Sendable {
    var maxStepsCap = 50
    package var maxConcurrentPerUser = 4
    /// How long a run with no connection watching waits for a `resume`.
    var resumeGrace: Duration = .seconds(120)
    /// How long a finished run's frames stay replayable in memory.
    var retention: Duration = .seconds(300)
    var maxClientTools = 64
    var maxFrameBytes = 1 << 20
    /// Frames a `ws/agent` connection may have queued before it is cut off as too slow (4001).
    var outboundBuffer = 1024
}

extension AgentInvokeRequest {
    static let toolNamePattern = #"^[A-Za-z0-9_-]{1,64}$"#

    /// Validated client tool specs; every problem is a `validation_failed` naming the tool.
    func clientToolSpecs(limits: AgentLimits, serverToolNames: Set<String>) throws -> [ToolSpec] {
        let tools = clientTools ?? []
        guard tools.count <= limits.maxClientTools else {
            throw APIError.validation("At most \(limits.maxClientTools) client tools may be declared.")
        }
        var seen: Set<String> = []
        return try tools.enumerated().map { index, tool in
            guard tool.name.range(of: Self.toolNamePattern, options: .regularExpression) != nil else {
                throw APIError.validation("client_tools[\(index)].name must be 1-64 letters, digits, '_' or '-'; got '\(tool.name)'.")
            }
            guard seen.insert(tool.name).inserted else {
                throw APIError.validation("Client tool '\(tool.name)' is declared twice.")
            }
            guard !serverToolNames.contains(tool.name) else {
                throw APIError.validation("Client tool '\(tool.name)' has the name of a server tool; rename it.")
            }
            if let executor = tool.executor, executor != .client {
                throw APIError.validation("client_tools[\(index)].executor must be \"client\".")
            }
            let parameters = tool.parameters ?? ["type": "object", "properties": [:]]
            do {
                try JSONSchemaValidator.checkSchema(parameters)
            } catch {
                throw APIError.validation("client_tools[\(index)].parameters is not a usable JSON Schema: \(error)")
            }
            if let timeout = tool.timeoutMs, !(1...3_600_000).contains(timeout) {
                throw APIError.validation("client_tools[\(index)].timeout_ms must be from 1 to 3600000.")
            }
            return ToolSpec(name: tool.name, description: tool.description ?? "", parameters: parameters, executor: .client,
                            requiresApproval: tool.requiresApproval ?? false, timeoutMilliseconds: tool.timeoutMs)
        }
    }
}
