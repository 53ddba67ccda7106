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

extension AgentEngine {
    /// A live run of `workspaceSlug` the viewer may act on.
    func liveInvocation(_ id: String, workspaceSlug: String?, viewer: Viewer) throws -> Invocation {
        let invocation = try registry.invocation(id: id, for: viewer)
        if let workspaceSlug, invocation.workspaceSlug != workspaceSlug {
            throw APIError.notFound("Invocation '\(id)' in workspace '\(workspaceSlug)'")
        }
        return invocation
    }

    func deliver(_ command: ToolResultCommand, to invocation: Invocation) throws {
        try invocation.deliverResult(callId: command.callId, output: command.output ?? .null, isError: command.isError ?? false)
    }

    func deliver(_ command: ApprovalCommand, to invocation: Invocation) throws {
        try invocation.deliverApproval(callId: command.callId, approved: command.approved, reason: command.reason)
    }
}
