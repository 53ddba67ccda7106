import ChatBridge

/// The client → server frames of PROTOCOL §6 besides `agent_invoke`, shared by WebSocket and REST.
struct ToolResultCommand: Decodable, Sendable {
    var invocationId: String?
    var callId: String
    var output: JSONValue?
    var isError: Bool?
}

struct ApprovalCommand: Decodable, Sendable {
    var invocationId: String?
    var callId: String
    var approved: Bool
    var reason: String?
}

struct InvocationCommand: Decodable, Sendable {
    var invocationId: String
}

struct ResumeCommand: Decodable, Sendable {
    var invocationId: String
    var afterSeq: Int?
}

extension ToolResultCommand {
    var command: RunCommand { .toolResult(callId: callId, output: output ?? .null, isError: isError ?? false) }
}

extension ApprovalCommand {
    var command: RunCommand { .approval(callId: callId, approved: approved, reason: reason) }
}

extension AgentEngine {
    /// Applies a client's command to run `id` of `workspace` (any workspace when `nil`): here when
    /// this process executes it, else on the instance that does (PROTOCOL §9).
    func perform(_ command: RunCommand, onInvocation id: String, workspace: Workspace?, viewer: Viewer) async throws {
        if registry.lookup(id) != nil {
            return try apply(command, to: try liveInvocation(id, workspaceSlug: workspace?.slug, viewer: viewer))
        }
        guard let record = try await runLog.run(id: id, viewer: .singleUser), record.kind == .agent, record.endedAt == nil,
              workspace.map({ record.workspaceId == $0.id }) ?? true
        else {
            throw APIError.notFound("Live invocation '\(id)'\(workspace.map { " in workspace '\($0.slug)'" } ?? "")")
        }
        guard viewer.mayAccess(ownerId: record.userId) else { throw APIError.forbidden("Invocation '\(id)' belongs to another user.") }
        try await peers.forward(command, toRun: id)
    }

    /// A live run of this process in `workspaceSlug` the viewer may act on.
    func liveInvocation(_ id: String, workspaceSlug: String?, viewer: Viewer) throws -> Invocation {
        let invocation = try registry.invocation(id: id, for: viewer)
        if let workspaceSlug, invocation.workspaceSlug != workspaceSlug {
            throw APIError.notFound("Invocation '\(id)' in workspace '\(workspaceSlug)'")
        }
        return invocation
    }

    /// Applies a command to a run of this process (from its client, or forwarded by another instance).
    func apply(_ command: RunCommand, to invocation: Invocation) throws {
        switch command {
        case .toolResult(let callId, let output, let isError):
            try invocation.deliverResult(callId: callId, output: output, isError: isError)
        case .approval(let callId, let approved, let reason):
            try invocation.deliverApproval(callId: callId, approved: approved, reason: reason)
        case .cancel:
            invocation.requestCancel()
        }
    }
}
