import ChatBridge
import Hummingbird

/// Workspaces and their threads. Everyone signed in may read workspaces; only administrators
/// create or change them. Threads belong to the user who made them.
struct WorkspacesController {
    let chats: any ChatStore
    /// Bounds on `mcp_servers`.
    var mcpLimits = MCPServerLimits()

    struct WorkspaceList: ResponseEncodable {
        var workspaces: [WorkspaceRepresentation]
    }

    struct ThreadList: ResponseEncodable {
        var threads: [ThreadRepresentation]
    }

    struct CreateThreadRequest: Decodable {
        var name: String?
    }

    func addRoutes(to group: RouterGroup<AppRequestContext>) {
        group.get(use: list)
        group.post(use: create)
        group.get(":slug", use: show)
        group.patch(":slug", use: update)
        group.get(":slug/threads", use: listThreads)
        group.post(":slug/threads", use: createThread)
    }

    @Sendable func list(_ request: Request, context: AppRequestContext) async throws -> WorkspaceList {
        _ = try context.identity()
        return WorkspaceList(workspaces: try await chats.workspaces().map(WorkspaceRepresentation.init))
    }

    @Sendable func create(_ request: Request, context: AppRequestContext) async throws -> EditedResponse<WorkspaceRepresentation> {
        try context.identity().requireAdmin("create workspaces")
        let settings = try await request.decode(as: WorkspaceSettings.self, context: context)
        var created = try settings.makeWorkspace()
        try settings.applyMCPServers(to: &created, limits: mcpLimits)
        let workspace = try await chats.createWorkspace(created)
        context.logger.info("workspace created", metadata: ["workspace": "\(workspace.slug)"])
        return EditedResponse(status: .created, response: WorkspaceRepresentation(workspace))
    }

    @Sendable func show(_ request: Request, context: AppRequestContext) async throws -> WorkspaceRepresentation {
        _ = try context.identity()
        return WorkspaceRepresentation(try await workspace(context))
    }

    @Sendable func update(_ request: Request, context: AppRequestContext) async throws -> WorkspaceRepresentation {
        try context.identity().requireAdmin("change workspace settings")
        var workspace = try await workspace(context)
        let settings = try await request.decode(as: WorkspaceSettings.self, context: context)
        try settings.apply(to: &workspace)
        try settings.applyMCPServers(to: &workspace, limits: mcpLimits)
        return WorkspaceRepresentation(try await chats.updateWorkspace(workspace))
    }

    @Sendable func listThreads(_ request: Request, context: AppRequestContext) async throws -> ThreadList {
        let principal = try context.identity()
        let workspace = try await workspace(context)
        let threads = try await chats.threads(workspaceId: workspace.id!, viewer: principal.viewer)
        return ThreadList(threads: threads.map { ThreadRepresentation($0, workspaceSlug: workspace.slug) })
    }

    @Sendable func createThread(_ request: Request, context: AppRequestContext) async throws -> EditedResponse<ThreadRepresentation> {
        let principal = try context.identity()
        let workspace = try await workspace(context)
        // The body is optional: an empty POST makes a thread with the default name.
        let buffer = try await request.body.collect(upTo: context.maxUploadSize)
        let body = buffer.readableBytes == 0
            ? CreateThreadRequest(name: nil)
            : try APICoding.decode(CreateThreadRequest.self, from: buffer.readableBytesView)
        let name = body.name?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
        guard name.count <= 200 else { throw APIError.validation("Field 'name' must be at most 200 characters.") }
        let thread = try await chats.createThread(
            workspaceId: workspace.id!, userId: principal.userId, name: name.isEmpty ? "Thread" : name)
        return EditedResponse(status: .created, response: ThreadRepresentation(thread, workspaceSlug: workspace.slug))
    }

    private func workspace(_ context: AppRequestContext) async throws -> Workspace {
        try await chats.requireWorkspace(slug: context.parameters.require("slug"))
    }
}
