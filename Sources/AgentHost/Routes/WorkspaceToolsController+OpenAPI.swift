import OpenAPIKit

extension WorkspaceToolsController {
    static let openAPIOperations: [APIOperation] = [
        APIOperation(
            .get, "/api/workspaces/{slug}/tools", id: "listWorkspaceTools", tag: "Workspaces",
            summary: "Every tool a run in the workspace gets, with its source",
            description: "Built-in server tools and the tools of the workspace's MCP servers (`<server>__<tool>`, PROTOCOL §10). "
                + "MCP servers that could not list their tools are in `unavailable`.",
            parameters: [WorkspacesController.slug],
            responses: [200: .json("The tools.", .object(properties: [
                "tools": .array(items: .object(properties: [
                    "name": .string, "description": .string, "parameters": .object,
                    "source": .string(description: "`builtin` or `mcp:<server>`."),
                    "executor": .string, "requires_approval": .boolean, "timeout_ms": .integer,
                ])),
                "unavailable": .array(items: .object(properties: ["source": .string, "message": .string])),
            ]))],
            errors: [.notFound]),
    ]
}
