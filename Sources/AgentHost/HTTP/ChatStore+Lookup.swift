import ChatBridge

extension ChatStore {
    /// The workspace `slug`, or `not_found`.
    func requireWorkspace(slug: String) async throws -> Workspace {
        guard let workspace = try await workspace(slug: slug) else {
            throw APIError.notFound("Workspace '\(slug)'")
        }
        return workspace
    }

    /// The thread `slug` of a workspace if the viewer may see it, or `not_found`; `nil` slug is the default thread.
    func requireThread(slug: String?, in workspace: Workspace, viewer: Viewer) async throws -> ChatThread? {
        guard let slug else { return nil }
        guard let thread = try await thread(workspaceId: workspace.id!, slug: slug, viewer: viewer) else {
            throw APIError.notFound("Thread '\(slug)' in workspace '\(workspace.slug)'")
        }
        return thread
    }

    /// The `workspace` and `thread` query filters of a list route, as ids (`nil` when absent);
    /// `thread` needs `workspace`, since thread slugs are per workspace.
    func listScope(_ query: QueryParameters, viewer: Viewer) async throws -> (workspaceId: Int64?, threadId: Int64?) {
        guard let slug = try query.string("workspace") else {
            if try query.string("thread") != nil {
                throw APIError.validation("Query parameter 'thread' needs 'workspace' too: thread slugs are per workspace.")
            }
            return (nil, nil)
        }
        let workspace = try await requireWorkspace(slug: slug)
        return (workspace.id, try await requireThread(slug: query.string("thread"), in: workspace, viewer: viewer)?.id)
    }
}
