import OpenAPIKit

extension WorkspacesController {
    static let slug = OpenAPI.Parameter.path("slug", "The workspace's slug.")

    static let openAPIOperations: [APIOperation] = [
        APIOperation(.get, "/api/workspaces", id: "listWorkspaces", tag: "Workspaces", summary: "List workspaces",
                     responses: [200: .json("Every workspace.", .object(properties: ["workspaces": .array(items: APISchemas.ref("Workspace"))]))]),
        APIOperation(.post, "/api/workspaces", id: "createWorkspace", tag: "Workspaces", summary: "Create a workspace (admins)",
                     body: .json(APISchemas.ref("WorkspaceSettings"), description: "`name` is required."),
                     responses: [201: .json("The new workspace, with its `slug`.", APISchemas.ref("Workspace"))],
                     errors: [.conflict]),
        APIOperation(.get, "/api/workspaces/{slug}", id: "getWorkspace", tag: "Workspaces", summary: "Read a workspace",
                     parameters: [slug],
                     responses: [200: .json("The workspace.", APISchemas.ref("Workspace"))], errors: [.notFound]),
        APIOperation(.patch, "/api/workspaces/{slug}", id: "updateWorkspace", tag: "Workspaces", summary: "Change settings (admins)",
                     parameters: [slug], body: .json(APISchemas.ref("WorkspaceSettings")),
                     responses: [200: .json("The changed workspace.", APISchemas.ref("Workspace"))], errors: [.notFound, .conflict]),
        APIOperation(.get, "/api/workspaces/{slug}/threads", id: "listThreads", tag: "Workspaces",
                     summary: "List the caller's threads (every thread, for admins)", parameters: [slug],
                     responses: [200: .json("The threads.", .object(properties: ["threads": .array(items: APISchemas.ref("Thread"))]))],
                     errors: [.notFound]),
        APIOperation(.post, "/api/workspaces/{slug}/threads", id: "createThread", tag: "Workspaces", summary: "Create a thread",
                     parameters: [slug],
                     body: .json(.object(properties: ["name": .string(required: false, maxLength: 200)]),
                                 description: "Optional: an empty body makes a thread named \"Thread\".", required: false),
                     responses: [201: .json("The new thread, with its `slug`.", APISchemas.ref("Thread"))],
                     errors: [.notFound, .conflict]),
    ]
}
