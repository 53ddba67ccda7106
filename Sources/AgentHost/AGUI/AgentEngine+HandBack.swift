import ChatBridge
import Foundation
import Tools

/// Runs that hand their client calls back (AG-UI frontend tools, PROTOCOL §10): the run ends with
/// the calls pending, and a new run continues the same conversation with the client's results.
extension AgentEngine {
    /// The calls of a run's last model step that it handed back unanswered: those with no stored
    /// result. Empty unless the run completed that way.
    static func handedBackCalls(of record: AgentInvocation, steps: [AgentStep]) -> [ToolCall] {
        guard record.status == .completed,
              let last = steps.filter({ $0.kind == .llm }).max(by: { $0.step < $1.step }) else { return [] }
        let answered = Set(steps.filter { $0.kind == .tool }.compactMap(\.callId))
        return (last.toolCalls?.arrayValue ?? []).compactMap(ToolCall.init(json:)).filter { !answered.contains($0.id) }
    }

    /// Starts run `id`, continuing `previous` (which handed calls back) with the client's `results`:
    /// the conversation is rebuilt from storage (the previous run's opening messages and steps), the
    /// answered calls are stored as the previous run's tool steps, and the new run goes on from the
    /// next model step with this run's frontend tools. No new prompt row: the answer lands in the
    /// previous run's chat (the user's turn), so the daily limit is not charged again; the per-user
    /// run cap and the provider queue apply as for any run.
    func continueHandedBack(
        _ previous: AgentInvocation, steps: [AgentStep], results: [String: ToolResult], id: String,
        clientTools requested: [AgentInvokeRequest.ClientTool], thread: ChatThread?, workspace: Workspace,
        principal: Principal, watcher: Outbox
    ) async throws -> Invocation {
        let pending = Self.handedBackCalls(of: previous, steps: steps)
        guard !pending.isEmpty else {
            throw APIError(.conflict, "The thread's latest run has no tool calls waiting for results; send a user message to start a new turn.")
        }
        let pendingIds = Set(pending.map(\.id))
        if let unknown = results.keys.sorted().first(where: { !pendingIds.contains($0) }) {
            throw APIError(.conflict, "Tool call '\(unknown)' is not waiting for a result in this thread; waiting: \(pending.map(\.id).sorted().joined(separator: ", ")).")
        }
        guard let context = previous.context, let chatId = previous.chatId else {
            throw APIError(.conflict, "The thread's latest run cannot be continued (it has no stored context).")
        }
        let (provider, model) = try providers.provider(for: workspace)
        try providers.queue(for: provider).checkAdmission()

        let serverTools = (context["server_tools"]?.arrayValue ?? []).compactMap(\.stringValue).compactMap(tools.spec(named:))
        // MCP tools the previous run was offered come back from its stored context, as on restore.
        let external = Dictionary((context["external_tools"]?.arrayValue ?? []).compactMap(ExternalTool.init(json:)).map { ($0.spec.name, $0) },
                                  uniquingKeysWith: { first, _ in first })
        let clientTools = try AgentInvokeRequest(message: "", clientTools: requested)
            .clientToolSpecs(limits: limits, serverToolNames: Set(tools.specs.map(\.name) + external.keys))
        let offered = Dictionary((serverTools + external.values.map(\.spec) + clientTools).map { ($0.name, $0) },
                                 uniquingKeysWith: { first, _ in first })

        // The whole conversation through the answered calls, as the previous run would have continued it.
        let noResult = ToolResult(output: ["error": "The client returned no result for this call."], isError: true)
        var answers: [String: ToolResult] = [:]
        for call in pending { answers[call.id] = results[call.id] ?? noResult }
        var messages = (context["messages"]?.arrayValue ?? []).compactMap(LLMMessage.init(json:))
        let stored = Dictionary(steps.filter { $0.kind == .tool }.compactMap { step in step.callId.map { ($0, step) } },
                                uniquingKeysWith: { first, _ in first })
        var callIds: Set<String> = []
        for modelStep in steps.filter({ $0.kind == .llm }).sorted(by: { $0.step < $1.step }) {
            let calls = modelStep.toolCalls?.arrayValue?.compactMap(ToolCall.init(json:)) ?? []
            guard !calls.isEmpty else { continue }
            callIds.formUnion(calls.map(\.id))
            messages.append(.assistant(modelStep.text ?? "", toolCalls: calls))
            for call in calls {
                let result = stored[call.id].map { ToolResult(output: $0.output ?? .null, isError: $0.isError ?? false) }
                    ?? answers[call.id] ?? noResult
                messages.append(.tool(callId: call.id, name: call.name, output: result.output.serializedString, isError: result.isError))
            }
        }

        let live = LiveRun(record: RunRecord(id: id, kind: .agent, workspaceId: workspace.id!, userId: principal.userId), log: runs.log)
        let invocation = Invocation(run: live, workspaceSlug: workspace.slug)
        try registry.register(invocation)
        var record = AgentInvocation(
            id: id, workspaceId: workspace.id!, threadId: previous.threadId, userId: principal.userId,
            requestId: previous.requestId, message: previous.message, maxSteps: previous.maxSteps,
            clientTools: .array(clientTools.map(\.clientJSON)))
        record.chatId = chatId
        record.context = ["messages": .array(messages.map(\.json)), "server_tools": context["server_tools"] ?? [],
                          "external_tools": context["external_tools"] ?? [],
                          "client_tools": .array(clientTools.map(\.clientJSON)), "continues": .string(previous.id)]
        do {
            try await invocations.createInvocation(record)
        } catch {
            registry.remove(id)
            throw error
        }
        // The previous run's step log gets the answers, so it reads complete and cannot be continued twice.
        let lastStep = steps.filter { $0.kind == .llm }.map(\.step).max() ?? 1
        for call in pending {
            let answer = answers[call.id]!
            await ChatPipeline.detachedFromCancellation { [invocations, logger] in
                do {
                    try await invocations.recordStep(AgentStep(
                        invocationId: previous.id, step: lastStep, kind: .tool, callId: call.id, name: call.name, executor: ToolExecutor.client.rawValue,
                        arguments: (try? JSONValue(parsing: call.arguments)) ?? .string(call.arguments), output: answer.output,
                        isError: answer.isError, startedAt: Date(), durationMs: 0))
                } catch {
                    logger.error("storing a handed-back call's result failed", metadata: ["invocation_id": "\(previous.id)", "error": "\(error)"])
                }
            }
        }
        live.attach(watcher, after: -1, endsWithRun: true)
        invocation.emit(.start(thread: thread?.slug, workspace: workspace.slug, maxSteps: previous.maxSteps, requestId: previous.requestId))
        logger.info("agent run continued with handed-back results", metadata: [
            "invocation_id": "\(id)", "continues": "\(previous.id)", "results": "\(results.count)"])
        let chat = Chat(id: chatId, workspaceId: workspace.id!, threadId: previous.threadId, userId: previous.userId,
                        prompt: previous.message, mode: .chat, model: model)
        let run = AgentRun(invocation: invocation, record: record, workspace: workspace, viewer: principal.viewer, chat: chat,
                           provider: provider, model: model, messages: messages, tools: offered, firstToolChoice: .auto,
                           maxSteps: previous.maxSteps, started: .now, firstTicket: nil, handsBackClientCalls: true,
                           externalTools: external)
        submit(run, from: .fresh, progress: RunProgress(callIds: callIds))
        return invocation
    }
}
