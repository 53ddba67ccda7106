import ChatBridge
import Foundation
import Hummingbird
import HummingbirdWebSocket
import Logging
import NIOCore

/// `ws/agent/{workspace_slug}/` (PROTOCOL §6): invoke agents, answer client tool calls and approvals,
/// cancel, and resume after a dropped connection. A bad frame gets an `error` frame; the socket stays open.
struct AgentSocketController {
    let engine: AgentEngine
    let chats: any ChatStore
    /// Pings.
    var webSocket = WebSocketSettings()
    /// Where the connections' writers run.
    let writers: WebSocketWriters

    func addRoutes(to router: Router<AppRequestContext>) {
        router.webSocket("ws/agent/:slug", maxMessageBytes: engine.limits.maxFrameBytes, tasks: writers) {
            [engine, chats, webSocket, writers] _, context in
            let principal = try context.identity()
            let slug = try context.parameters.require("slug")
            _ = try await chats.requireWorkspace(slug: slug)
            // The connection keeps only what this closure captures, not the upgrade request.
            return { connection in
                var logger = connection.logger
                logger[metadataKey: "workspace"] = .string(slug)
                let workspace = try await chats.requireWorkspace(slug: slug)
                try await WebSocketKeepAliveHandler.install(on: connection.channel, interval: webSocket.pingInterval)
                let session = AgentSocketSession(engine: engine, workspace: workspace, principal: principal,
                                                 outbox: Outbox(limit: engine.limits.outboundBuffer), logger: logger, writers: writers)
                session.startWriting(to: connection)
                return session
            }
        }
    }
}

/// One agent WebSocket: reads frames, dispatches them, and writes every subscribed run's events.
///
/// Its frames go through an ``Outbox``, the policy of `ws/chat` and SSE too: bounded, a client that
/// cannot keep up is closed with 4001 (its runs go on; it reconnects and resumes), and a `resume`'s
/// replay is pulled by the writer at the client's pace.
final class AgentSocketSession: WebSocketSession {
    let engine: AgentEngine
    let workspace: Workspace
    let principal: Principal
    let outbox: Outbox
    let logger: Logger
    /// Where the connection's writer runs, while it has something to write.
    let writers: WebSocketWriters

    /// Runs this connection watches.
    private let watched = WatchedRuns()

    init(engine: AgentEngine, workspace: Workspace, principal: Principal, outbox: Outbox, logger: Logger,
         writers: WebSocketWriters) {
        self.engine = engine
        self.workspace = workspace
        self.principal = principal
        self.outbox = outbox
        self.logger = logger
        self.writers = writers
    }

    /// Writes the outbox to the client, by a writer that runs only while there is something to send,
    /// until the connection closes (the client left, too slow, a failed write).
    func startWriting(to connection: WebSocketConnection) {
        let logger = logger
        outbox.write(to: connection.outbound, channel: connection.channel, through: writers) {
            logger.warning("closing slow agent websocket")
        }
    }

    /// A message of the frame loop (``WebSocketFrameLoop``), handled in the session's short-lived task.
    func receive(_ message: [UInt8]) async {
        await handle(message)
    }

    func refuse(_ error: APIError) {
        send(error.frame())
    }

    /// The runs keep going; they wait for a resume from another connection.
    func end() async {
        outbox.finish()
        for run in watched.all { run.detach(outbox) }
    }

    private func send(_ frame: JSONValue) {
        outbox.deliver(frame)
    }

    /// Runs in the connection's session task (``WebSocketInbox``), which ends when no message is
    /// waiting: an idle connection keeps none of the stack a frame needed.
    private func handle(_ bytes: [UInt8]) async {
        let frame: JSONValue
        do {
            frame = try JSONValue(parsing: bytes)
        } catch {
            send(APIError(.invalidJSON, "The frame is not valid JSON: \(error).").frame())
            return
        }
        guard case .object = frame, let type = frame["type"]?.stringValue else {
            send(APIError.validation("A frame is a JSON object with a string 'type'.").frame())
            return
        }
        var ids: [String: JSONValue] = [:]
        if let invocationId = frame["invocation_id"] { ids["invocation_id"] = invocationId }
        if let callId = frame["call_id"] { ids["call_id"] = callId }
        if let requestId = frame["request_id"] { ids["request_id"] = requestId }
        do {
            switch type {
            case "agent_invoke":
                let request = try APICoding.decode(AgentInvokeRequest.self, from: bytes)
                let invocation = try await engine.start(request, workspace: workspace, principal: principal, watcher: outbox)
                watched.add(invocation.run)
            case "tool_result":
                let command = try APICoding.decode(ToolResultCommand.self, from: bytes)
                try await perform(command.command, on: try required(command.invocationId))
            case "approval":
                let command = try APICoding.decode(ApprovalCommand.self, from: bytes)
                try await perform(command.command, on: try required(command.invocationId))
            case "cancel":
                let command = try APICoding.decode(InvocationCommand.self, from: bytes)
                try await perform(.cancel, on: command.invocationId)
            case "resume":
                let command = try APICoding.decode(ResumeCommand.self, from: bytes)
                try await resume(command.invocationId, after: command.afterSeq ?? -1)
            case "ping":
                send(["type": "pong"])
            default:
                throw APIError(.unknownType, "Unknown frame type '\(type)'. Send agent_invoke, tool_result, approval, cancel, resume or ping.")
            }
        } catch {
            let apiError = APIError.from(error)
            if apiError.code == .internal { logger.error("agent frame failed", metadata: ["error": "\(error)"]) }
            send(apiError.frame(ids))
        }
    }

    private func perform(_ command: RunCommand, on invocationId: String) async throws {
        try await engine.perform(command, onInvocation: invocationId, workspace: workspace, viewer: principal.viewer)
    }

    private func required(_ invocationId: String?) throws -> String {
        guard let invocationId else { throw APIError.validation("Missing required field 'invocation_id'.") }
        return invocationId
    }

    /// Streams a run's frames (from `afterSeq`) to this connection until the run ends or the socket
    /// closes; a new resume of the same run replaces the previous subscription.
    private func watch(_ run: LiveRun, after afterSeq: Int) {
        run.attach(outbox, after: afterSeq)
        watched.add(run)
    }

    /// Resumes a run of this workspace: live while it runs (here or on another instance), else
    /// (it ended, or ran before a restart) its logged frames.
    private func resume(_ invocationId: String, after afterSeq: Int) async throws {
        let location = try await engine.locator.locate(invocationId, viewer: principal.viewer)
        switch location {
        case .live(let run) where run.record.kind == .agent && run.record.workspaceId == workspace.id:
            watch(run, after: afterSeq)
        case .logged(let record) where record.kind == .agent && record.workspaceId == workspace.id:
            outbox.addReplay(StoredReplay(store: engine.runLog, runId: invocationId, after: afterSeq, into: outbox,
                                          ids: ["invocation_id": .string(invocationId)], logger: logger))
        case .live, .logged, .unknown:
            throw APIError.notFound("Invocation '\(invocationId)' in workspace '\(workspace.slug)'")
        }
    }
}
