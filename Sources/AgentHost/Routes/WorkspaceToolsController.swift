import ChatBridge
import Hummingbird
import Tools

/// `GET /api/workspaces/{slug}/tools`: every tool an agent run in the workspace gets by default,
/// with where it comes from (PROTOCOL §10), and the MCP servers that failed to list theirs.
struct WorkspaceToolsController {
    let chats: any ChatStore
    let engine: AgentEngine

    struct ToolEntry: Encodable, Sendable {
        var name: String
        var description: String
        var parameters: JSONValue
        /// `builtin` or `mcp:<server>`.
        var source: String
        var executor: String
        var requiresApproval: Bool
        var timeoutMs: Int
    }

    struct Unavailable: Encodable, Sendable {
        var source: String
        var message: String
    }

    struct ToolList: ResponseEncodable, Sendable {
        var tools: [ToolEntry]
        /// Servers (or single tools) that could not be listed; their tools are missing above.
        var unavailable: [Unavailable]
    }

    func addRoutes(to group: RouterGroup<AppRequestContext>) {
        group.get(":slug/tools", use: list)
    }

    @Sendable func list(_ request: Request, context: AppRequestContext) async throws -> ToolList {
        _ = try context.identity()
        let workspace = try await chats.requireWorkspace(slug: context.parameters.require("slug"))
        let (builtIn, external) = await engine.toolCatalog(for: workspace)
        let entries = builtIn.map { ToolEntry($0, source: "builtin") } + external.tools.map { ToolEntry($0.spec, source: $0.source) }
        return ToolList(tools: entries, unavailable: external.failures.map { Unavailable(source: $0.source, message: $0.message) })
    }
}

extension WorkspaceToolsController.ToolEntry {
    init(_ spec: ToolSpec, source: String) {
        self.init(name: spec.name, description: spec.description, parameters: spec.parameters, source: source,
                  executor: spec.executor.rawValue, requiresApproval: spec.requiresApproval,
                  timeoutMs: spec.timeoutMilliseconds ?? ToolSpec.defaultTimeoutMilliseconds)
    }
}
