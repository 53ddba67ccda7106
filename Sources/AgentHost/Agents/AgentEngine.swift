import ChatBridge
import Foundation
import Logging
import Tools

/// Starts agent runs and executes the tool-calling loop (PROTOCOL §5–6).
///
/// A run is started by ``start(_:workspace:principal:)`` (validation, limits, stored prompt,
/// `agent_start`) and executed by ``AgentRunner``, which owns its task. The loop: model step with
/// the tool list → `agent_token`s → tool calls validated, approved, run (server) or sent (client)
/// concurrently → results back to the model → next step, until an answer without tools,
/// `max_steps`, cancel, failure, or no client returning within the resume grace.
struct AgentEngine: Sendable {
    let chats: any ChatStore
    let invocations: any InvocationStore
    let notes: any NoteStore
    let providers: ProviderCatalog
    let tools: ToolRegistry
    let registry: InvocationRegistry
    let limits: AgentLimits
    let logger: Logger

    static let agentInstructions = """
        You can call tools to act or to look things up. Do not answer from memory what a tool can tell you \
        exactly (arithmetic, current conditions, stored data): call the tool, then answer the user in plain \
        text with its result.
        """

    // MARK: Start

    /// Validates and registers a run; returns it with `agent_start` already in its log.
    func start(_ request: AgentInvokeRequest, workspace: Workspace, principal: Principal) async throws -> AgentRun {
        let message = request.message.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !message.isEmpty else { throw APIError.validation("Field 'message' must not be empty.") }
        let serverTools = try serverToolSpecs(requested: request.tools, workspace: workspace)
        let clientTools = try request.clientToolSpecs(limits: limits, serverToolNames: Set(tools.specs.map(\.name)))
        let offered = Dictionary(uniqueKeysWithValues: (serverTools + clientTools).map { ($0.name, $0) })
        let toolChoice: ToolChoice
        switch request.toolChoice {
        case .choice(.tool(let name))? where offered[name] == nil:
            throw APIError.validation("tool_choice names '\(name)', which is not among this run's tools.")
        case .choice(let choice)?: toolChoice = choice
        case nil: toolChoice = .auto
        }
        let maxSteps = request.maxSteps ?? workspace.agentMaxSteps
        guard (1...limits.maxStepsCap).contains(maxSteps) else {
            throw APIError.validation("max_steps must be from 1 to \(limits.maxStepsCap).")
        }
        let thread = try await chats.requireThread(slug: request.thread, in: workspace, viewer: principal.viewer)
        let (provider, model) = try providers.provider(for: workspace)

        let id = UUID().uuidString.lowercased()
        let invocation = Invocation(id: id, ownerId: principal.userId, workspaceSlug: workspace.slug)
        try registry.register(invocation)
        do {
            // The prompt is stored (and the daily limit checked) before any model call.
            let chat = try await chats.beginChat(
                Chat(workspaceId: workspace.id!, threadId: thread?.id, userId: principal.userId, prompt: message,
                     apiSessionId: nil, mode: .chat, model: model),
                dailyLimit: principal.dailyMessageLimit, now: Date())
            var history: [LLMMessage] = []
            let conversation = Conversation(workspaceId: workspace.id!, threadId: thread?.id, userId: principal.userId, sessionId: nil)
            for previous in try await chats.contextWindow(conversation, limit: workspace.historyLength) {
                history += [.user(previous.prompt), .assistant(previous.response)]
            }
            let system = (workspace.systemPrompt ?? ChatPipeline.defaultSystemPrompt) + "\n\n" + Self.agentInstructions
            let record = AgentInvocation(
                id: id, workspaceId: workspace.id!, threadId: thread?.id, userId: principal.userId, requestId: request.requestId,
                message: message, maxSteps: maxSteps,
                clientTools: .array(clientTools.map { ["name": .string($0.name), "description": .string($0.description),
                                                       "parameters": $0.parameters, "requires_approval": .bool($0.requiresApproval)] }))
            try await invocations.createInvocation(record)
            var start: [String: JSONValue] = ["thread": thread.map { .string($0.slug) } ?? .null,
                                              "workspace": .string(workspace.slug), "max_steps": .number(Double(maxSteps))]
            if let requestId = request.requestId { start["request_id"] = .string(requestId) }
            invocation.emit("agent_start", start)
            logger.info("agent started", metadata: ["invocation_id": "\(id)", "workspace": "\(workspace.slug)",
                                                    "tools": "\(offered.keys.sorted().joined(separator: ","))"])
            return AgentRun(invocation: invocation, record: record, workspace: workspace, viewer: principal.viewer, chat: chat,
                            provider: provider, model: model, messages: [.system(system)] + history + [.user(message)],
                            tools: offered, firstToolChoice: toolChoice, maxSteps: maxSteps, threadSlug: thread?.slug,
                            started: .now)
        } catch {
            registry.remove(id)
            throw error
        }
    }

    /// The server tools a run may use: those requested (default: all the workspace allows).
    private func serverToolSpecs(requested: [String]?, workspace: Workspace) throws -> [ToolSpec] {
        let allowed = workspace.agentTools.map(Set.init) ?? Set(tools.specs.map(\.name))
        guard let requested else { return tools.specs.filter { allowed.contains($0.name) } }
        return try requested.map { name in
            guard let spec = tools.spec(named: name) else {
                throw APIError.validation("Unknown server tool '\(name)'. Available: \(tools.specs.map(\.name).joined(separator: ", ")).")
            }
            guard allowed.contains(name) else {
                throw APIError.forbidden("Workspace '\(workspace.slug)' does not allow tool '\(name)'.")
            }
            return spec
        }
    }

    // MARK: Execute

    /// Runs the loop to its end and records the outcome. Never throws.
    func execute(_ run: AgentRun) async {
        let progress = RunProgress()
        let end: RunEnd = await withTaskGroup(of: RunEnd?.self) { group in
            group.addTask { await loop(run, progress: progress) }
            group.addTask {
                await run.invocation.waitForCancelRequest()
                return Task.isCancelled ? nil : .cancelled
            }
            group.addTask {
                await watchForAbandonment(run.invocation)
                return Task.isCancelled ? nil : .timedOut
            }
            var first: RunEnd?
            while first == nil, let next = await group.next() { first = next }
            group.cancelAll()
            // Only server shutdown cancels this task (AgentRunner); the loop then ends `.cancelled`, but
            // the run was interrupted, not cancelled by its client. A run that had already ended another
            // way (completed, failed, timed out) as the shutdown came keeps that end.
            switch first {
            case nil: return .interrupted
            case .cancelled? where Task.isCancelled: return .interrupted
            case let end?: return end
            }
        }
        await finish(run, end: end, progress: progress)
    }

    private func watchForAbandonment(_ invocation: Invocation) async {
        let grace = limits.resumeGrace
        let poll = max(min(grace / 4, .seconds(1)), .milliseconds(10))
        while !Task.isCancelled {
            try? await Task.sleep(for: poll)
            if invocation.isAbandoned(grace: grace) { return }
        }
    }

    private func loop(_ run: AgentRun, progress: RunProgress) async -> RunEnd {
        var messages = run.messages
        var lastAnswer = ""
        for step in 1...run.maxSteps {
            progress.beginStep(step)
            let stepStart = Date()
            let clock = ContinuousClock.now
            var text = ""
            var calls: [Int: ToolCall] = [:]
            var order: [Int] = []
            var stepUsage: Usage?
            let request = LLMRequest(model: run.model, messages: messages, tools: run.toolDefinitions,
                                     toolChoice: step == 1 ? run.firstToolChoice : .auto,
                                     temperature: run.workspace.temperature)
            do {
                // Later steps of a running agent go ahead of new chats in the provider's queue.
                let ticket = try providers.queue(for: run.provider)
                    .reserve(QueueClaim(userId: run.record.userId, priority: step == 1 ? .chat : .agentStep))
                defer { ticket.release() }
                let events = try await ticket.stream(request, from: run.provider) { position in
                    run.invocation.emitQueued(position: position, step: step)
                }
                for try await event in events {
                    switch event {
                    case .text(let token):
                        text += token
                        progress.append(token)
                        run.invocation.emit("agent_token", ["token": .string(token), "step": .number(Double(step))])
                    case .toolCallStart(let index, let id, let name):
                        if calls[index] == nil { order.append(index) }
                        calls[index] = ToolCall(id: id, name: name, arguments: "")
                    case .toolCallArguments(let index, let delta):
                        calls[index]?.arguments += delta
                    case .usage(let usage):
                        stepUsage = usage
                    case .toolCallEnd, .finish:
                        break
                    }
                }
            } catch is CancellationError {
                return .cancelled
            } catch {
                if Task.isCancelled { return .cancelled }
                return .failed(ProviderFailure.error(error, provider: "\(run.provider.kind)", logger: logger))
            }
            let usage = stepUsage ?? Usage(promptTokens: TokenEstimate.count(messages), completionTokens: TokenEstimate.count(text))
            progress.add(usage)
            let toolCalls = order.compactMap { calls[$0] }.map {
                ToolCall(id: progress.uniqueCallId($0.id), name: $0.name, arguments: $0.arguments)
            }
            await persist(AgentStep(invocationId: run.invocation.id, step: step, kind: .llm, text: text,
                                    promptTokens: usage.promptTokens, completionTokens: usage.completionTokens,
                                    startedAt: stepStart, durationMs: clock.duration(to: .now).milliseconds))
            lastAnswer = text
            if toolCalls.isEmpty { return .completed(text) }

            messages.append(.assistant(text, toolCalls: toolCalls))
            let results = await withTaskGroup(of: (Int, ToolResult).self) { group in
                for (position, call) in toolCalls.enumerated() {
                    group.addTask { (position, await perform(call, step: step, run: run)) }
                }
                var results: [(Int, ToolResult)] = []
                for await result in group { results.append(result) }
                return results.sorted { $0.0 < $1.0 }.map(\.1)
            }
            if Task.isCancelled { return .cancelled }
            for (call, result) in zip(toolCalls, results) {
                messages.append(.tool(callId: call.id, name: call.name, output: result.output.serializedString, isError: result.isError))
            }
        }
        _ = lastAnswer
        return .maxSteps
    }

    // MARK: Tool calls

    struct ToolResult: Sendable {
        var output: JSONValue
        var isError: Bool
    }

    /// Validates, approves, runs or sends one call, and emits its `tool_result`.
    private func perform(_ call: ToolCall, step: Int, run: AgentRun) async -> ToolResult {
        let started = Date()
        let clock = ContinuousClock.now
        let invocation = run.invocation
        func finish(_ result: ToolResult, arguments: JSONValue?, executor: ToolExecutor?) async -> ToolResult {
            let duration = clock.duration(to: .now).milliseconds
            invocation.emit("tool_result", ["call_id": .string(call.id), "name": .string(call.name), "output": result.output,
                                            "is_error": .bool(result.isError), "duration_ms": .number(duration.rounded3)])
            await persist(AgentStep(invocationId: invocation.id, step: step, kind: .tool, callId: call.id, name: call.name,
                                    executor: executor?.rawValue, arguments: arguments ?? .string(call.arguments),
                                    output: result.output, isError: result.isError, startedAt: started, durationMs: duration))
            return result
        }
        func failure(_ message: String, code: APIError.Code? = nil) -> ToolResult {
            var output: [String: JSONValue] = ["error": .string(message)]
            if let code { output["code"] = .string(code.rawValue) }
            return ToolResult(output: .object(output), isError: true)
        }

        guard let spec = run.tools[call.name] else {
            let available = run.tools.keys.sorted().joined(separator: ", ")
            return await finish(failure("Unknown tool '\(call.name)'. Available tools: \(available)."), arguments: nil, executor: nil)
        }
        let arguments: JSONValue
        do {
            let text = call.arguments.trimmingCharacters(in: .whitespacesAndNewlines)
            arguments = text.isEmpty ? [:] : try JSONValue(parsing: text)
        } catch {
            return await finish(failure("The arguments of '\(call.name)' are not valid JSON: \(call.arguments.prefix(200)). Send a JSON object."),
                                arguments: nil, executor: spec.executor)
        }
        do {
            try JSONSchemaValidator.check(arguments, against: spec.parameters, toolName: spec.name)
        } catch {
            return await finish(failure("\(error)"), arguments: arguments, executor: spec.executor)
        }

        if spec.requiresApproval {
            invocation.expectApproval(callId: call.id)
            invocation.emit("approval_required", ["call_id": .string(call.id), "name": .string(call.name), "arguments": arguments,
                                                  "executor": .string(spec.executor.rawValue), "step": .number(Double(step))])
            let decision = await withTimeout(spec.effectiveTimeout) { await invocation.awaitApproval(callId: call.id) }
            switch decision {
            case .approved?:
                break
            case .denied(let reason)?:
                return await finish(failure("The user denied this call" + (reason.map { ": \($0)" } ?? ".")),
                                    arguments: arguments, executor: spec.executor)
            case .cancelled?, nil:
                if Task.isCancelled { return ToolResult(output: ["error": "cancelled"], isError: true) }
                return await finish(failure("No approval arrived within \(spec.effectiveTimeout).", code: .toolTimeout),
                                    arguments: arguments, executor: spec.executor)
            }
        }

        var request: [String: JSONValue] = ["call_id": .string(call.id), "name": .string(call.name), "arguments": arguments,
                                            "executor": .string(spec.executor.rawValue), "step": .number(Double(step))]
        if spec.executor == .client {
            request["timeout_ms"] = .number(Double(spec.timeoutMilliseconds ?? ToolSpec.defaultTimeoutMilliseconds))
        }
        invocation.emit("tool_call", request)

        switch spec.executor {
        case .client:
            let outcome = await withTimeout(spec.effectiveTimeout) { await invocation.awaitResult(callId: call.id) }
            switch outcome {
            case .answered(let output, let isError)?:
                return await finish(ToolResult(output: output, isError: isError), arguments: arguments, executor: .client)
            case .cancelled?, nil:
                invocation.closeCall(call.id)
                if Task.isCancelled { return ToolResult(output: ["error": "cancelled"], isError: true) }
                return await finish(
                    failure("The client did not return a result within \(spec.timeoutMilliseconds ?? ToolSpec.defaultTimeoutMilliseconds) ms.",
                            code: .toolTimeout),
                    arguments: arguments, executor: .client)
            }
        case .server:
            guard let tool = tools.tool(named: spec.name) else {
                return await finish(failure("Tool '\(spec.name)' has no implementation."), arguments: arguments, executor: .server)
            }
            // search_documents carries its retriever (bound in `Dependencies`); the viewer decides whose documents it reads.
            let context = ToolContext(workspaceId: run.workspace.id!, viewer: run.viewer, chats: chats, notes: notes)
            let outcome: Result<JSONValue, any Error>? = await withTimeout(spec.effectiveTimeout) {
                do { return .success(try await tool.run(arguments: arguments, context: context)) } catch { return .failure(error) }
            }
            switch outcome {
            case .success(let output)?:
                return await finish(ToolResult(output: output, isError: false), arguments: arguments, executor: .server)
            case .failure(let error as ToolError)?:
                return await finish(failure(error.message), arguments: arguments, executor: .server)
            case .failure(let error)?:
                logger.error("server tool failed", metadata: ["tool": "\(spec.name)", "error": "\(error)"])
                return await finish(failure("Tool '\(spec.name)' failed unexpectedly."), arguments: arguments, executor: .server)
            case nil:
                if Task.isCancelled { return ToolResult(output: ["error": "cancelled"], isError: true) }
                return await finish(failure("Tool '\(spec.name)' did not finish within \(spec.effectiveTimeout).", code: .toolTimeout),
                                    arguments: arguments, executor: .server)
            }
        }
    }

    // MARK: Finish

    private func finish(_ run: AgentRun, end: RunEnd, progress: RunProgress) async {
        let invocation = run.invocation
        var response = progress.lastText
        if case .completed(let text) = end { response = text }
        let usage = progress.usage
        let status = end.status
        var record = run.record
        record.status = status
        record.response = response
        record.steps = progress.steps
        record.promptTokens = usage.promptTokens
        record.completionTokens = usage.completionTokens
        record.chatId = run.chat.id
        record.finishedAt = Timestamp.now()
        if case .failed(let error) = end { record.error = error.message }
        if case .timedOut = end { record.error = "No client resumed the run within \(limits.resumeGrace)." }
        let chatStatus: Chat.Status = switch end {
        case .completed, .maxSteps: .completed
        case .cancelled: .cancelled
        case .failed, .timedOut: .failed
        case .interrupted: .interrupted
        }
        let outcome = ChatOutcome(response: response, status: chatStatus, usage: usage, model: run.model, error: record.error)
        let finalRecord = record
        await ChatPipeline.detachedFromCancellation { [chats, invocations, logger] in
            do {
                try await chats.finishChat(id: run.chat.id!, outcome: outcome)
                try await invocations.finishInvocation(finalRecord)
            } catch {
                logger.error("storing agent run failed", metadata: ["invocation_id": "\(invocation.id)", "error": "\(error)"])
            }
        }
        if case .failed(let error) = end {
            var fields: [String: JSONValue] = ["code": .string(error.code.rawValue), "message": .string(error.message)]
            if let retryAfter = error.retryAfterSeconds { fields["retry_after"] = .number(Double(retryAfter)) }
            invocation.emit("error", fields)
        }
        invocation.emit("agent_complete", [
            "status": .string(status.rawValue), "response": .string(response), "db_id": .number(Double(run.chat.id!)),
            "steps": .number(Double(progress.steps)),
            "usage": ["prompt_tokens": .number(Double(usage.promptTokens)), "completion_tokens": .number(Double(usage.completionTokens))],
            "duration_ms": .number(run.started.duration(to: .now).milliseconds.rounded3),
        ])
        logger.info("agent finished", metadata: ["invocation_id": "\(invocation.id)", "status": "\(status.rawValue)",
                                                 "steps": "\(progress.steps)"])
    }

    private func persist(_ step: AgentStep) async {
        await ChatPipeline.detachedFromCancellation { [invocations, logger] in
            do {
                try await invocations.recordStep(step)
            } catch {
                logger.error("storing agent step failed", metadata: ["invocation_id": "\(step.invocationId)", "error": "\(error)"])
            }
        }
    }
}

extension Double {
    var rounded3: Double { (self * 1000).rounded() / 1000 }
}
