import ChatBridge
import Foundation
import Hummingbird

/// REST parity for agents (PROTOCOL §3): the same runs and frames over HTTP and SSE, for clients
/// behind proxies that block WebSockets and for batch workflows.
struct AgentInvocationsController {
    let engine: AgentEngine
    let chats: any ChatStore
    let invocations: any InvocationStore
    let streams: RunEventStreams

    struct StartRequest: Decodable {
        var workspace: String
    }

    struct Accepted: ResponseEncodable {
        var accepted = true
    }

    func addRoutes(to group: RouterGroup<AppRequestContext>) {
        group.post(use: start)
        group.get(use: list)
        group.get(":id", use: show)
        group.get(":id/events", use: events)
        group.post(":id/tool_results", use: toolResult)
        group.post(":id/approvals", use: approval)
        group.post(":id/cancel", use: cancel)
    }

    /// Starts a run and streams its frames as SSE (`id:` is the frame's `seq`).
    @Sendable func start(_ request: Request, context: AppRequestContext) async throws -> Response {
        let principal = try context.identity()
        let body = try await request.body.collect(upTo: context.maxUploadSize)
        let target = try APICoding.decode(StartRequest.self, from: body.readableBytesView)
        let invoke = try APICoding.decode(AgentInvokeRequest.self, from: body.readableBytesView)
        let workspace = try await chats.requireWorkspace(slug: target.workspace)
        let outbox = streams.makeOutbox(for: context.channel)
        let invocation = try await engine.start(invoke, workspace: workspace, principal: principal, watcher: outbox, endsWithRun: true)
        return streams.write(outbox, of: invocation.run)
    }

    /// The stored run: status, every step, call, argument, result, duration and usage.
    @Sendable func show(_ request: Request, context: AppRequestContext) async throws -> Response {
        let principal = try context.identity()
        let id = try context.parameters.require("id")
        guard let (record, steps) = try await invocations.invocation(id: id, viewer: principal.viewer) else {
            throw APIError.notFound("Invocation '\(id)'")
        }
        let json = InvocationRepresentation.json(record, steps: steps, live: try await liveRun(of: record, viewer: principal.viewer))
        return Response(status: .ok, headers: [.contentType: "application/json; charset=utf-8"],
                        body: .init(byteBuffer: ByteBuffer(bytes: json.serialized())))
    }

    /// The run while it is live, here or on another instance (PROTOCOL §9): whether it waits on its
    /// client is read from its frames, which a run followed from the log has as well.
    private func liveRun(of record: AgentInvocation, viewer: Viewer) async throws -> LiveRun? {
        if let local = engine.registry.lookup(record.id) { return local.run }
        guard record.finishedAt == nil, record.status == .running || record.status == .waiting else { return nil }
        guard case .live(let run) = try await engine.locator.locate(record.id, viewer: viewer) else { return nil }
        return run
    }

    /// Replays the frames after `after_seq`, then follows the run live until it ends; a run no
    /// longer in memory (it ended, or before a restart) replays from the log.
    @Sendable func events(_ request: Request, context: AppRequestContext) async throws -> Response {
        let principal = try context.identity()
        let id = try context.parameters.require("id")
        let afterSeq = try QueryParameters(request).int("after_seq", default: -1, range: -1...Int.max)
        return try await streams.response(runId: id, after: afterSeq, viewer: principal.viewer, connection: context.channel)
    }

    @Sendable func toolResult(_ request: Request, context: AppRequestContext) async throws -> Accepted {
        let id = try context.parameters.require("id"), viewer = try context.identity().viewer
        let command = try await request.decode(as: ToolResultCommand.self, context: context)
        try await engine.perform(command.command, onInvocation: id, workspace: nil, viewer: viewer)
        return Accepted()
    }

    @Sendable func approval(_ request: Request, context: AppRequestContext) async throws -> Accepted {
        let id = try context.parameters.require("id"), viewer = try context.identity().viewer
        let command = try await request.decode(as: ApprovalCommand.self, context: context)
        try await engine.perform(command.command, onInvocation: id, workspace: nil, viewer: viewer)
        return Accepted()
    }

    @Sendable func cancel(_ request: Request, context: AppRequestContext) async throws -> EditedResponse<Accepted> {
        try await engine.perform(.cancel, onInvocation: try context.parameters.require("id"), workspace: nil,
                                 viewer: try context.identity().viewer)
        return EditedResponse(status: .accepted, response: Accepted())
    }

}

/// `GET /api/agent/invocations/{id}`.
enum InvocationRepresentation {
    /// `live` is the run while it is live, in this process or followed from another instance: its
    /// status is then `waiting` while it waits only on its client, `running` otherwise, until it ends.
    static func json(_ record: AgentInvocation, steps: [AgentStep], live: LiveRun?) -> JSONValue {
        var status = record.status
        if let live, !live.isFinished, status == .running || status == .waiting {
            // The one definition of waiting, as shutdown and start-up repair read it: from the frames.
            status = AgentLogState(frames: live.frames).isWaitingOnClient ? .waiting : .running
        }
        var object: [String: JSONValue] = [
            "invocation_id": .string(record.id), "status": .string(status.rawValue), "message": .string(record.message),
            "response": .string(record.response), "db_id": record.chatId.map { .number(Double($0)) } ?? .null,
            "request_id": record.requestId.map(JSONValue.string) ?? .null, "steps": .number(Double(record.steps)),
            "max_steps": .number(Double(record.maxSteps)), "client_tools": record.clientTools,
            "usage": ["prompt_tokens": .number(Double(record.promptTokens)), "completion_tokens": .number(Double(record.completionTokens))],
            "error": record.error.map(JSONValue.string) ?? .null,
            "created_at": .string(Timestamp.string(from: record.createdAt)),
            "finished_at": record.finishedAt.map { .string(Timestamp.string(from: $0)) } ?? .null,
            "live": .bool(live.map { !$0.isFinished } ?? false),
        ]
        if let finishedAt = record.finishedAt {
            object["duration_ms"] = .number((finishedAt.timeIntervalSince(record.createdAt) * 1000).rounded())
        }
        var byStep: [Int: (llm: AgentStep?, calls: [AgentStep])] = [:]
        for step in steps {
            if step.kind == .llm { byStep[step.step, default: (nil, [])].llm = step } else { byStep[step.step, default: (nil, [])].calls.append(step) }
        }
        object["step_log"] = .array(byStep.keys.sorted().map { number in
            let entry = byStep[number]!
            var json: [String: JSONValue] = ["step": .number(Double(number))]
            if let llm = entry.llm {
                json["text"] = .string(llm.text ?? "")
                json["usage"] = ["prompt_tokens": .number(Double(llm.promptTokens ?? 0)), "completion_tokens": .number(Double(llm.completionTokens ?? 0))]
                json["duration_ms"] = .number((llm.durationMs ?? 0).rounded3)
                json["started_at"] = .string(Timestamp.string(from: llm.startedAt))
            }
            json["tool_calls"] = .array(entry.calls.map { call in
                ["call_id": call.callId.map(JSONValue.string) ?? .null, "name": call.name.map(JSONValue.string) ?? .null,
                 "executor": call.executor.map(JSONValue.string) ?? .null, "arguments": call.arguments ?? .null,
                 "output": call.output ?? .null, "is_error": .bool(call.isError ?? false),
                 "duration_ms": .number((call.durationMs ?? 0).rounded3), "started_at": .string(Timestamp.string(from: call.startedAt))]
            })
            return .object(json)
        })
        return .object(object)
    }
}
