import ChatBridge
import Foundation
import Logging
import Tools

/// Starts agent runs and executes the tool-calling loop (PROTOCOL §5–6).
///
/// An agent turn is a chat of the shared pipeline: ``ChatPipeline/prepare(_:workspace:threadId:caller:)``
/// validates it, checks the daily limit, stores the prompt and gathers the context (documents, sent
/// as `sources`; history); the pipeline's storage and telemetry stages record its end. The engine
/// adds the loop: model step with the tool list → `agent_token`s → tool calls validated, approved,
/// run (server) or sent (client) concurrently → results back to the model → next step, until an
/// answer without tools, `max_steps`, cancel, failure, or no client returning within the resume grace.
/// Each run is a ``LiveRun`` executed by the ``RunService``; one that waits only on its client
/// survives a restart (``restoreWaitingRuns(_:)``).
struct AgentEngine: Sendable {
    let pipeline: ChatPipeline
    let chats: any ChatStore
    let invocations: any InvocationStore
    let notes: any NoteStore
    let providers: ProviderCatalog
    let tools: ToolRegistry
    let registry: InvocationRegistry
    let runs: RunService
    let runLog: any RunLogStore
    let limits: AgentLimits
    let logger: Logger
    /// Tools from outside AgentHost (the workspace's MCP servers), beside the built-in ones.
    var externalTools: any ExternalToolSource = NoExternalTools()
    /// The other instances on the same database, which may execute the runs clients name (PROTOCOL §9).
    var peers: any ClusterPeers = SingleInstance()

    /// Finds runs here or on the other instances.
    var locator: RunLocator { RunLocator(runs: runs.registry, store: runLog, peers: peers) }

    static let agentInstructions = """
        You can call tools to act or to look things up. Do not answer from memory what a tool can tell you \
        exactly (arithmetic, current conditions, stored data): call the tool, then answer the user in plain \
        text with its result.
        """

    // MARK: Start

    /// Validates, stores and starts a run, watched from its first frame by `watcher` (an SSE stream
    /// ends with the run, a socket does not).
    func start(_ request: AgentInvokeRequest, workspace: Workspace, principal: Principal, watcher: Outbox,
               endsWithRun: Bool = false, options: AgentStartOptions = AgentStartOptions()) async throws -> Invocation {
        let message = request.message.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !message.isEmpty else { throw APIError.validation("Field 'message' must not be empty.") }
        let external = await externalTools.tools(for: workspace).tools
        let serverTools = try serverToolSpecs(requested: request.tools, workspace: workspace, external: external)
        let clientTools = try request.clientToolSpecs(
            limits: limits, serverToolNames: Set(tools.specs.map(\.name) + external.map(\.spec.name)))
        let offeredExternal = Self.offered(external, among: serverTools)
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

        let id = options.id ?? UUID.random().uuidString.lowercased()
        let live = LiveRun(record: RunRecord(id: id, kind: .agent, workspaceId: workspace.id!, userId: principal.userId),
                           log: runs.log)
        let invocation = Invocation(run: live, workspaceSlug: workspace.slug)
        try registry.register(invocation)
        do {
            // The per-user cap holds across instances too.
            try await peers.claim(live.record, limit: registry.maxConcurrentPerUser)
        } catch {
            registry.remove(id)
            throw error
        }
        let prepared: PreparedChat
        do {
            // The shared pipeline: validation, daily limit and stored prompt, documents and history.
            prepared = try await pipeline.prepare(
                ChatRequest(message: message, mode: .chat,
                            clientSystemPrompt: [Self.agentInstructions, options.instructions].compactMap { $0 }.joined(separator: "\n\n")),
                workspace: workspace, threadId: thread?.id, caller: principal.chatCaller)
        } catch {
            await abandonStart(id)
            throw error
        }
        guard let opening = prepared.request, let provider = prepared.provider else {
            await abandonStart(id)
            throw APIError(.internal, "The pipeline prepared no model request for an agent run.")
        }
        var record = AgentInvocation(
            id: id, workspaceId: workspace.id!, threadId: thread?.id, userId: principal.userId, requestId: request.requestId,
            message: message, maxSteps: maxSteps, clientTools: .array(clientTools.map(\.clientJSON)))
        record.chatId = prepared.dbId
        record.context = ["messages": .array(opening.messages.map(\.json)),
                          "server_tools": .array(serverTools.map { .string($0.name) }),
                          "external_tools": .array(offeredExternal.values.sorted { $0.spec.name < $1.spec.name }.map(\.json)),
                          "client_tools": .array(clientTools.map(\.clientJSON))]
        do {
            try await invocations.createInvocation(record)
        } catch {
            prepared.ticket?.release()
            await abandonStart(id)
            await pipeline.store(prepared.chat, outcome: ChatOutcome(response: "", status: .failed, usage: nil, model: opening.model,
                                                                     error: "storing the invocation failed"))
            throw error
        }
        live.attach(watcher, after: -1, endsWithRun: endsWithRun)
        invocation.emit(.start(thread: thread?.slug, workspace: workspace.slug, maxSteps: maxSteps, requestId: request.requestId))
        if !prepared.sources.isEmpty { invocation.emit(.sources(prepared.sources, step: 1)) }
        logger.info("agent started", metadata: ["invocation_id": "\(id)", "workspace": "\(workspace.slug)",
                                                "tools": "\(offered.keys.sorted().joined(separator: ","))"])
        let run = AgentRun(invocation: invocation, record: record, workspace: workspace, viewer: principal.viewer,
                           chat: prepared.chat, provider: provider, model: opening.model, messages: opening.messages,
                           tools: offered, firstToolChoice: toolChoice, maxSteps: maxSteps, started: .now,
                           firstTicket: prepared.ticket, handsBackClientCalls: options.handsBackClientCalls,
                           externalTools: offeredExternal)
        submit(run, from: .fresh, progress: RunProgress())
        return invocation
    }

    /// A start that failed after its run was registered and claimed: neither holds a place any more.
    private func abandonStart(_ id: String) async {
        registry.remove(id)
        await peers.releaseClaim(id)
    }

    /// Hands a run to the ``RunService``, which owns its task.
    func submit(_ run: AgentRun, from start: LoopStart, progress: RunProgress) {
        let registry = registry
        runs.submit(run.invocation.run, keepInMemory: limits.retention, whenForgotten: { registry.remove(run.invocation.id) }) {
            await execute(run, from: start, progress: progress)
        }
    }

    /// The server tools a run may use: those requested (default: all the workspace allows, and
    /// every tool of its MCP servers).
    private func serverToolSpecs(requested: [String]?, workspace: Workspace, external: [ExternalTool]) throws -> [ToolSpec] {
        let allowed = workspace.agentTools.map(Set.init) ?? Set(tools.specs.map(\.name))
        guard let requested else { return tools.specs.filter { allowed.contains($0.name) } + external.map(\.spec) }
        return try requested.map { name in
            if let tool = external.first(where: { $0.spec.name == name }) { return tool.spec }
            guard let spec = tools.spec(named: name) else {
                let available = tools.specs.map(\.name) + external.map(\.spec.name)
                throw APIError.validation("Unknown server tool '\(name)'. Available: \(available.joined(separator: ", ")).")
            }
            guard allowed.contains(name) else {
                throw APIError.forbidden("Workspace '\(workspace.slug)' does not allow tool '\(name)'.")
            }
            return spec
        }
    }

    // MARK: Execute

    /// Runs the loop to its end and records the outcome. Never throws. The ``RunService`` cancels
    /// this task for a client's `cancel` (the run ends `cancelled`) and for server shutdown (it ends
    /// `interrupted`, or stays `waiting` when it only waits on its client).
    func execute(_ run: AgentRun, from start: LoopStart, progress: RunProgress) async {
        let end: RunEnd = await withTaskGroup(of: RunEnd?.self) { group in
            group.addTask { await loop(run, from: start, progress: progress) }
            group.addTask {
                await watchForAbandonment(run.invocation.run)
                return Task.isCancelled ? nil : .timedOut
            }
            var first: RunEnd?
            while first == nil, let next = await group.next() { first = next }
            group.cancelAll()
            // A run that had already ended another way (completed, failed, timed out) as the cancel
            // came keeps that end.
            switch first {
            case let end? where !(end == .cancelled && Task.isCancelled):
                return end
            default:
                return run.invocation.run.cancellation.isRequested ? .cancelled : .interrupted
            }
        }
        await finish(run, end: end, progress: progress)
    }

    private func watchForAbandonment(_ run: LiveRun) async {
        let grace = limits.resumeGrace
        let poll = max(min(grace / 4, .seconds(1)), .milliseconds(10))
        while !Task.isCancelled {
            try? await Task.sleep(for: poll)
            if run.isAbandoned(grace: grace) { return }
        }
    }

    private func loop(_ run: AgentRun, from start: LoopStart, progress: RunProgress) async -> RunEnd {
        var messages = run.messages
        var firstStep = 1
        if case .within(let step, let calls, let known, let awaitingApproval) = start {
            // A continued run: finish the step its client was answering, then go on.
            let results = await performAll(calls) { call in
                if let result = known[call.id] { return result }
                let phase: CallPhase = awaitingApproval.contains(call.id) ? .awaitingApproval : .awaitingResult
                return await perform(call, step: step, run: run, phase: phase)
            }
            if Task.isCancelled { return .cancelled }
            messages += zip(calls, results).map(Self.resultMessage)
            firstStep = step + 1
            guard firstStep <= run.maxSteps else { return .maxSteps }
        }
        for step in firstStep...run.maxSteps {
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
                // The first step has the place the pipeline reserved; later steps of a running agent go
                // ahead of new chats in the provider's queue.
                let ticket = try (step == firstStep ? run.firstTicket : nil)
                    ?? providers.queue(for: run.provider).reserve(QueueClaim(userId: run.record.userId, priority: .agentStep))
                defer { ticket.release() }
                let events = try await ticket.stream(request, from: run.provider) { position in
                    run.invocation.emit(.queued(position: position, step: step))
                }
                for try await event in events {
                    switch event {
                    case .text(let token):
                        text += token
                        progress.append(token)
                        run.invocation.emit(.token(token, step: step))
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
            // Recorded with its calls before any of them runs: a run continued after a restart rebuilds
            // its conversation from these (a client call is sent only once the log holding this step is stored).
            recordStep(AgentStep(invocationId: run.invocation.id, step: step, kind: .llm, text: text,
                                 toolCalls: toolCalls.isEmpty ? nil : .array(toolCalls.map(\.json)), promptTokens: usage.promptTokens, completionTokens: usage.completionTokens,
                                 startedAt: stepStart, durationMs: clock.duration(to: .now).milliseconds))
            if toolCalls.isEmpty { return .completed(text) }

            messages.append(.assistant(text, toolCalls: toolCalls))
            let results = await performAll(toolCalls) { call in await perform(call, step: step, run: run) }
            if Task.isCancelled { return .cancelled }
            // Frontend tools (AG-UI): the run ends here with the calls pending; the next run continues.
            if results.contains(where: \.isHandedBack) { return .completed(text) }
            messages += zip(toolCalls, results).map(Self.resultMessage)
        }
        return .maxSteps
    }

    /// The calls of one model step, run concurrently; the results in the calls' order.
    private func performAll(_ calls: [ToolCall], _ perform: @escaping @Sendable (ToolCall) async -> ToolResult) async -> [ToolResult] {
        // A single call (most steps) runs in the loop's own task: a child task would cost the step a
        // hop to another thread and one back, with nothing to run beside it.
        if calls.count == 1 { return [await perform(calls[0])] }
        return await withTaskGroup(of: (Int, ToolResult).self) { group in
            for (position, call) in calls.enumerated() {
                group.addTask { (position, await perform(call)) }
            }
            var results: [(Int, ToolResult)] = []
            for await result in group { results.append(result) }
            return results.sorted { $0.0 < $1.0 }.map(\.1)
        }
    }

    private static func resultMessage(_ call: ToolCall, _ result: ToolResult) -> LLMMessage {
        .tool(callId: call.id, name: call.name, output: result.output.serializedString, isError: result.isError)
    }

    // MARK: Tool calls

    struct ToolResult: Sendable {
        var output: JSONValue
        var isError: Bool
        /// A client call handed back to the client unanswered (``AgentRun/handsBackClientCalls``).
        var isHandedBack = false
    }

    /// How far a call had got: a fresh one, or one of a continued run that already asked its client.
    enum CallPhase: Sendable {
        case fresh
        /// `approval_required` went out; the decision is awaited.
        case awaitingApproval
        /// The client `tool_call` went out; its result is awaited.
        case awaitingResult
    }

    /// Validates, approves, runs or sends one call, and emits its `tool_result`.
    private func perform(_ call: ToolCall, step: Int, run: AgentRun, phase: CallPhase = .fresh) async -> ToolResult {
        let started = Date()
        let clock = ContinuousClock.now
        let invocation = run.invocation
        func finish(_ result: ToolResult, arguments: JSONValue?, executor: ToolExecutor?) async -> ToolResult {
            let duration = clock.duration(to: .now).milliseconds
            invocation.emit(.toolResult(AgentToolResult(callId: call.id, name: call.name, output: result.output,
                                                        isError: result.isError, durationMilliseconds: duration)))
            recordStep(AgentStep(invocationId: invocation.id, step: step, kind: .tool, callId: call.id, name: call.name,
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

        var request = AgentToolCall(callId: call.id, name: call.name, arguments: arguments, executor: spec.executor.rawValue,
                                    step: step)
        if spec.requiresApproval && phase != .awaitingResult {
            if phase == .fresh {
                invocation.expectApproval(callId: call.id)
                // Waiting on the client from here on: durable before the client sees it, so the wait survives a crash.
                await invocation.ask(.approvalRequired(request))
            }
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

        if spec.executor == .client {
            request.timeoutMilliseconds = spec.timeoutMilliseconds ?? ToolSpec.defaultTimeoutMilliseconds
        }
        if phase != .awaitingResult {
            if spec.executor == .client {
                await invocation.ask(.toolCall(request))
            } else {
                invocation.emit(.toolCall(request))
            }
        }

        switch spec.executor {
        case .client where run.handsBackClientCalls:
            return ToolResult(output: .null, isError: false, isHandedBack: true)
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
            if let external = run.externalTools[spec.name] {
                let result = await performExternal(external, arguments: arguments, run: run, spec: spec)
                // As for built-in tools: a cancelled run records no result for the call it abandoned.
                if Task.isCancelled { return ToolResult(output: ["error": "cancelled"], isError: true) }
                return await finish(result, arguments: arguments, executor: .server)
            }
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
        run.firstTicket?.release()
        let invocation = run.invocation
        // A run that hands its client calls back never waits on its client: it ends here.
        if end == .interrupted, !run.handsBackClientCalls, AgentLogState(frames: invocation.run.frames).isWaitingOnClient {
            return await suspend(run, progress: progress)
        }
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
        var failure: APIError?
        if case .failed(let error) = end {
            record.error = error.message
            failure = error
        }
        if case .timedOut = end { record.error = "No client resumed the run within \(limits.resumeGrace)." }
        let chatStatus: Chat.Status = switch end {
        case .completed, .maxSteps: .completed
        case .cancelled: .cancelled
        case .failed, .timedOut: .failed
        case .interrupted: .interrupted
        }
        let outcome = ChatOutcome(response: response, status: chatStatus, usage: usage, model: run.model, error: record.error)
        // Stored before the last frame goes out, as every chat of the pipeline; so are the run's steps
        // (recorded with the log's batches), so the stored run is whole once the client hears it ended.
        await invocation.run.waitUntilLogged()
        await pipeline.store(run.chat, outcome: outcome)
        let finalRecord = record
        await ChatPipeline.detachedFromCancellation { [invocations, logger] in
            do {
                try await invocations.finishInvocation(finalRecord)
            } catch {
                logger.error("storing agent run failed", metadata: ["invocation_id": "\(invocation.id)", "error": "\(error)"])
            }
        }
        if let failure { invocation.emit(.error(failure)) }
        let duration = run.started.duration(to: .now).milliseconds
        invocation.emit(.complete(AgentCompletion(status: status, response: response, dbId: run.chat.id!, steps: progress.steps,
                                                  usage: usage, durationMilliseconds: duration)))
        logger.info("agent finished", metadata: ["invocation_id": "\(invocation.id)", "status": "\(status.rawValue)",
                                                 "steps": "\(progress.steps)"])
        let ttft = progress.firstToken.map { run.started.duration(to: $0).milliseconds } ?? 0
        let streaming = progress.firstToken.map { $0.duration(to: .now).milliseconds / 1000 } ?? 0
        await pipeline.recordTelemetry(
            chat: run.chat, transport: "agent", provider: run.provider.kind, outcome: outcome,
            metrics: StreamMetrics(ttftMilliseconds: ttft, durationMilliseconds: duration,
                                   tokensPerSecond: streaming > 0 ? Double(usage.completionTokens) / streaming : 0),
            errorCode: failure?.code)
    }

    /// The server stops while the run waits only on its client: it stays `waiting` (its log has
    /// no end) and continues after the restart (PROTOCOL §8).
    private func suspend(_ run: AgentRun, progress: RunProgress) async {
        var record = run.record
        record.status = .waiting
        record.response = progress.lastText
        record.steps = progress.steps
        record.promptTokens = progress.usage.promptTokens
        record.completionTokens = progress.usage.completionTokens
        record.chatId = run.chat.id
        let suspended = record
        await ChatPipeline.detachedFromCancellation { [invocations, logger] in
            do {
                try await invocations.finishInvocation(suspended)
            } catch {
                logger.error("storing a waiting agent run failed", metadata: ["invocation_id": "\(run.invocation.id)", "error": "\(error)"])
            }
        }
        await run.invocation.run.waitUntilLogged()
        run.invocation.run.suspend()
        logger.info("agent run left waiting for its client across the restart", metadata: ["invocation_id": "\(run.invocation.id)"])
    }

    /// Stores a step with the run log's next batch (``RunLogWriter/record(_:)``) rather than in a write
    /// of its own that the step would wait for. It is stored before anything relies on it: a request to
    /// the client (``Invocation/ask(_:)``) and the run's end (``finish(_:end:progress:)``) flush the log first.
    private func recordStep(_ step: AgentStep) {
        runs.log.record(step)
    }
}

extension Double {
    var rounded3: Double { (self * 1000).rounded() / 1000 }
}

extension ToolSpec {
    /// A client tool as an invocation stores it (and as a continued run reads it back).
    var clientJSON: JSONValue {
        var json: [String: JSONValue] = ["name": .string(name), "description": .string(description), "parameters": parameters,
                                         "requires_approval": .bool(requiresApproval)]
        if let timeoutMilliseconds { json["timeout_ms"] = .int(timeoutMilliseconds) }
        return .object(json)
    }

    init?(clientJSON json: JSONValue) {
        guard let name = json["name"]?.stringValue else { return nil }
        self.init(name: name, description: json["description"]?.stringValue ?? "", parameters: json["parameters"] ?? [:],
                  executor: .client, requiresApproval: json["requires_approval"]?.boolValue ?? false,
                  timeoutMilliseconds: json["timeout_ms"]?.intValue)
    }
}
