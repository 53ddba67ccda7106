import ChatBridge
import Foundation
import Tools

extension AgentEngine {
    /// Runs an external (MCP) tool through the engine's source. Its time limit is the tool's; a
    /// timeout or the run's cancellation is cancelled at the tool's server by the source.
    func performExternal(_ tool: ExternalTool, arguments: JSONValue, run: AgentRun, spec: ToolSpec) async -> ToolResult {
        let outcome = await externalTools.call(tool, arguments: arguments, workspace: run.workspace, timeout: spec.effectiveTimeout)
        switch outcome.failure {
        case nil:
            return ToolResult(output: outcome.output, isError: false)
        case .timedOut?:
            var output = outcome.output.objectValue ?? ["error": outcome.output]
            output["code"] = .string(APIError.Code.toolTimeout.rawValue)
            return ToolResult(output: .object(output), isError: true)
        case .cancelled?, .failed?:
            if outcome.failure == .failed {
                logger.warning("MCP tool call failed", metadata: ["tool": "\(spec.name)", "invocation_id": "\(run.invocation.id)"])
            }
            return ToolResult(output: outcome.output, isError: true)
        }
    }

    /// The external tools among `offered` (those a run was given), by name.
    static func offered(_ external: [ExternalTool], among offered: [ToolSpec]) -> [String: ExternalTool] {
        let names = Set(offered.map(\.name))
        return Dictionary(external.filter { names.contains($0.spec.name) }.map { ($0.spec.name, $0) }, uniquingKeysWith: { first, _ in first })
    }

    /// Every tool a run in `workspace` gets by default: the built-in tools it allows, then its MCP
    /// servers' tools, and what of those failed to answer (`GET /api/workspaces/{slug}/tools`).
    func toolCatalog(for workspace: Workspace) async -> (builtIn: [ToolSpec], external: ExternalToolListing) {
        let allowed = workspace.agentTools.map(Set.init) ?? Set(tools.specs.map(\.name))
        return (tools.specs.filter { allowed.contains($0.name) }, await externalTools.tools(for: workspace))
    }
}

extension ExternalTool {
    /// As a run's stored context keeps it, so a run continued after a restart still reaches it.
    var json: JSONValue {
        var json = spec.clientJSON.objectValue ?? [:]
        json["source"] = .string(source)
        json["server"] = .string(server)
        json["remote_name"] = .string(remoteName)
        return .object(json)
    }

    init?(json: JSONValue) {
        guard var spec = ToolSpec(clientJSON: json), let source = json["source"]?.stringValue,
              let server = json["server"]?.stringValue, let remoteName = json["remote_name"]?.stringValue else { return nil }
        spec.executor = .server
        self.init(spec: spec, source: source, server: server, remoteName: remoteName)
    }
}
