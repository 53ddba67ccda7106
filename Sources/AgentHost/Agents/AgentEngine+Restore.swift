import ChatBridge
import Foundation
import Tools

extension AgentEngine {
    /// Continues the runs start-up repair (or the takeover of a stopped instance's runs, PROTOCOL §9)
    /// left `waiting` on their clients (PROTOCOL §8): each is
    /// rebuilt from its stored opening messages, its steps and its log, and waits again for the
    /// answers it asked for; the resume grace counts from now. A run that cannot be rebuilt ends
    /// `interrupted`.
    func restoreWaitingRuns(_ ids: [String]) async {
        for id in ids {
            do {
                try await restore(id)
                logger.notice("continuing an agent run that waits on its client", metadata: ["invocation_id": "\(id)"])
            } catch {
                logger.error("could not continue a waiting agent run; it ends interrupted", metadata: [
                    "invocation_id": "\(id)", "error": "\(error)"])
                await abandonRestore(id)
            }
        }
    }

    private struct RestoreError: Error, CustomStringConvertible {
        var description: String
    }

    private func restore(_ id: String) async throws {
        guard let (record, steps) = try await invocations.invocation(id: id, viewer: .singleUser) else {
            throw RestoreError(description: "no invocation row")
        }
        guard let workspace = try await chats.workspaces().first(where: { $0.id == record.workspaceId }) else {
            throw RestoreError(description: "its workspace is gone")
        }
        guard let context = record.context, let chatId = record.chatId else {
            throw RestoreError(description: "it has no stored context")
        }
        let frames = try await runLog.frames(ofRun: id, after: -1, limit: .max)
        let state = AgentLogState(frames: frames)
        guard state.isWaitingOnClient else { throw RestoreError(description: "its log shows no wait on the client") }
        let (provider, model) = try providers.provider(for: workspace)

        var messages = (context["messages"]?.arrayValue ?? []).compactMap(LLMMessage.init(json:))
        let serverTools = (context["server_tools"]?.arrayValue ?? []).compactMap(\.stringValue).compactMap(tools.spec(named:))
        let clientTools = (context["client_tools"]?.arrayValue ?? []).compactMap(ToolSpec.init(clientJSON:))
        let external = Dictionary((context["external_tools"]?.arrayValue ?? []).compactMap(ExternalTool.init(json:)).map { ($0.spec.name, $0) },
                                  uniquingKeysWith: { first, _ in first })
        let offered = Dictionary((serverTools + external.values.map(\.spec) + clientTools).map { ($0.name, $0) },
                                 uniquingKeysWith: { first, _ in first })
        let modelSteps = steps.filter { $0.kind == .llm }.sorted { $0.step < $1.step }
        guard let last = modelSteps.last, last.step == state.lastStep else {
            throw RestoreError(description: "its steps and its log disagree")
        }
        var usage = Usage.zero
        var callIds: Set<String> = []
        var pendingStepCalls: [ToolCall] = []
        for modelStep in modelSteps {
            let calls = modelStep.toolCalls?.arrayValue?.compactMap(ToolCall.init(json:)) ?? []
            usage = usage + Usage(promptTokens: modelStep.promptTokens ?? 0, completionTokens: modelStep.completionTokens ?? 0)
            callIds.formUnion(calls.map(\.id))
            messages.append(.assistant(modelStep.text ?? "", toolCalls: calls))
            if modelStep.step == last.step {
                pendingStepCalls = calls
                break
            }
            for call in calls {
                guard let result = state.results[call.id] else { throw RestoreError(description: "call \(call.id) has no result") }
                messages.append(.tool(callId: call.id, name: call.name, output: result.output.serializedString, isError: result.isError))
            }
        }
        var known: [String: ToolResult] = [:]
        for call in pendingStepCalls {
            if let result = state.results[call.id] {
                known[call.id] = ToolResult(output: result.output, isError: result.isError)
            } else if state.pendingClientCalls[call.id] == nil && state.pendingApprovals[call.id] == nil {
                throw RestoreError(description: "call \(call.id) was neither answered nor waiting on the client")
            }
        }

        let live: LiveRun
        if let followed = peers.stopFollowing(id) {
            // This instance took over a run it was following: its watchers stay attached.
            followed.mirror(frames, ended: false)
            live = followed
        } else {
            live = LiveRun(record: RunRecord(id: id, kind: .agent, workspaceId: record.workspaceId, userId: record.userId),
                           log: runs.log, restoring: frames, outstanding: state.pendingFrames)
        }
        let invocation = Invocation(run: live, workspaceSlug: workspace.slug, pendingClientCalls: Set(state.pendingClientCalls.keys),
                                    pendingApprovals: Set(state.pendingApprovals.keys))
        try registry.register(invocation, enforcingLimit: false)
        let chat = Chat(id: chatId, workspaceId: record.workspaceId, threadId: record.threadId, userId: record.userId,
                        prompt: record.message, mode: .chat, model: model)
        let run = AgentRun(invocation: invocation, record: record, workspace: workspace,
                           viewer: Viewer(userId: record.userId, isAdmin: record.userId == nil), chat: chat, provider: provider,
                           model: model, messages: messages, tools: offered, firstToolChoice: .auto, maxSteps: record.maxSteps,
                           started: .now, firstTicket: nil, externalTools: external)
        submit(run, from: .within(step: last.step, calls: pendingStepCalls, results: known,
                                  awaitingApproval: Set(state.pendingApprovals.keys)),
               progress: RunProgress(steps: last.step, lastText: last.text ?? "", usage: usage, callIds: callIds))
    }

    /// Ends a run that could not be continued as `interrupted`, with its terminal frame logged.
    private func abandonRestore(_ id: String) async {
        do {
            guard var (record, _) = try await invocations.invocation(id: id, viewer: .singleUser) else { return }
            let frames = try await runLog.frames(ofRun: id, after: -1, limit: .max)
            let state = AgentLogState(frames: frames)
            record.status = .interrupted
            record.error = "The server restarted and could not continue this run."
            record.finishedAt = Timestamp.now()
            try await invocations.finishInvocation(record)
            if let chatId = record.chatId {
                try await chats.finishChat(id: chatId, outcome: ChatOutcome(
                    response: state.lastStepText, status: .interrupted, usage: nil, model: nil, error: record.error))
            }
            let live = LiveRun(record: RunRecord(id: id, kind: .agent, workspaceId: record.workspaceId, userId: record.userId),
                               log: runs.log, restoring: frames)
            Invocation(run: live, workspaceSlug: "").emit(.complete(AgentCompletion(
                status: .interrupted, response: state.lastStepText, dbId: record.chatId ?? 0, steps: state.lastStep,
                usage: .zero, durationMilliseconds: (record.finishedAt!.timeIntervalSince(record.createdAt) * 1000).rounded())))
            await live.waitUntilLogged()
        } catch {
            logger.error("could not end an agent run after a failed restore", metadata: ["invocation_id": "\(id)", "error": "\(error)"])
        }
    }
}
