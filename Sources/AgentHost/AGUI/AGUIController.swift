import ChatBridge
import Foundation
import Hummingbird

/// The AG-UI endpoint (PROTOCOL §10): `POST /api/agui/{workspace}` runs an agent on the engine
/// every transport shares and streams its AG-UI events; `GET /api/agui/runs/{runId}/events` picks
/// a run's stream up again.
///
/// How AG-UI's ids map to ours: `runId` is the agent invocation's id (so `GET
/// /api/agent/invocations/{runId}` shows the run); `threadId` names the caller's thread in the
/// workspace (the one with that slug or that name, created on first use) and is kept as the
/// invocation's `request_id`. Of the client's `messages` only the end is read: a final user message
/// starts a turn (its history comes from storage), trailing tool messages answer the frontend calls
/// the thread's latest run handed back.
struct AGUIController {
    let engine: AgentEngine
    let chats: any ChatStore
    let invocations: any InvocationStore
    let streams: RunEventStreams
    let settings: AGUISettings

    func addRoutes(to group: RouterGroup<AppRequestContext>) {
        group.get("runs/:runId/events", use: events)
        group.post(":workspace", use: run)
    }

    /// Starts (or, repeated with `Last-Event-ID`, resumes) a run and streams its AG-UI events.
    @Sendable func run(_ request: Request, context: AppRequestContext) async throws -> Response {
        let principal = try context.identity()
        let body = try await request.body.collect(upTo: context.maxUploadSize)
        let input = try APICoding.decode(RunAgentInput.self, from: body.readableBytesView)
        let turn = try input.validatedTurn()
        try input.validateContext(maxCharacters: settings.maxContextCharacters)
        let workspace = try await chats.requireWorkspace(slug: try context.parameters.require("workspace"))

        if let existing = try await existingRun(input.runId) {
            guard principal.viewer.mayAccess(ownerId: existing.userId), existing.workspaceId == workspace.id else {
                throw APIError(.conflict, "runId '\(input.runId)' is already taken; use a new runId for a new run.")
            }
            guard let lastEventId = Self.lastEventId(of: request) else {
                throw APIError(.conflict, "Run '\(input.runId)' exists; repeat the request with Last-Event-ID to resume its stream, or use a new runId.")
            }
            return try await streams.aguiResponse(runId: input.runId, after: try Self.position(lastEventId), viewer: principal.viewer,
                                                  connection: context.channel)
        }

        let thread = try await thread(named: input.threadId, in: workspace, for: principal)
        let outbox = streams.makeOutbox(for: context.channel)
        let invocation: Invocation
        switch turn {
        case .message(let text):
            let invoke = AgentInvokeRequest(message: text, thread: thread.slug, clientTools: input.clientTools, requestId: input.threadId)
            invocation = try await engine.start(
                invoke, workspace: workspace, principal: principal, watcher: outbox, endsWithRun: true,
                options: AgentStartOptions(id: input.runId, handsBackClientCalls: true, instructions: input.contextInstructions))
        case .toolResults(let results):
            guard let (previous, steps) = try await invocations.latestInvocation(threadId: thread.id!, viewer: principal.viewer) else {
                throw APIError(.conflict, "Thread '\(input.threadId)' has no run whose tool calls these results answer.")
            }
            invocation = try await engine.continueHandedBack(
                previous, steps: steps, results: results, id: input.runId, clientTools: input.clientTools, thread: thread,
                workspace: workspace, principal: principal, watcher: outbox)
        }
        return streams.aguiWrite(outbox, of: invocation.run, after: -1)
    }

    /// `GET /api/agui/runs/{runId}/events?after_seq=N`: the run's AG-UI events after position `N`.
    @Sendable func events(_ request: Request, context: AppRequestContext) async throws -> Response {
        let principal = try context.identity()
        let query = QueryParameters(request)
        var after = try query.int("after_seq", default: -1, range: -1...Int.max)
        if try query.string("after_seq") == nil, let lastEventId = Self.lastEventId(of: request) {
            after = try Self.position(lastEventId)
        }
        return try await streams.aguiResponse(runId: try context.parameters.require("runId"), after: after, viewer: principal.viewer,
                                              connection: context.channel)
    }

    /// The run with this id, in memory or stored, whoever owns it.
    private func existingRun(_ id: String) async throws -> (userId: Int64?, workspaceId: Int64)? {
        if let live = engine.registry.lookup(id) { return (live.ownerId, live.run.record.workspaceId) }
        if let (record, _) = try await invocations.invocation(id: id, viewer: .singleUser) { return (record.userId, record.workspaceId) }
        if let record = try await streams.store.run(id: id, viewer: .singleUser) { return (record.userId, record.workspaceId) }
        return nil
    }

    /// The caller's thread for an AG-UI `threadId`: theirs with that slug, else with that name, else a new one of that name.
    private func thread(named threadId: String, in workspace: Workspace, for principal: Principal) async throws -> ChatThread {
        let own = try await chats.threads(workspaceId: workspace.id!, viewer: principal.viewer).filter { $0.userId == principal.userId }
        if let thread = own.first(where: { $0.slug == threadId }) ?? own.first(where: { $0.name == threadId }) { return thread }
        return try await chats.createThread(workspaceId: workspace.id!, userId: principal.userId, name: threadId)
    }

    static func lastEventId(of request: Request) -> String? {
        request.headers[.init("Last-Event-ID")!]
    }

    /// A `Last-Event-ID`: the position of the last event the client got.
    static func position(_ lastEventId: String) throws -> Int {
        guard let position = Int(lastEventId.trimmingCharacters(in: .whitespaces)), position >= -1 else {
            throw APIError.validation("Last-Event-ID must be the id of an event of this run (an integer); got '\(lastEventId.prefix(40))'.")
        }
        return position
    }
}
