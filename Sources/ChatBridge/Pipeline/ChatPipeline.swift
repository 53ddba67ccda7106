import Foundation
import Logging

/// Who sends a chat, as the pipeline needs to know them.
public struct ChatCaller: Sendable, Equatable {
    public var userId: Int64?
    public var dailyMessageLimit: Int?

    public init(userId: Int64?, dailyMessageLimit: Int?) {
        self.userId = userId
        self.dailyMessageLimit = dailyMessageLimit
    }
}

/// A chat whose prompt is stored and whose context is ready: the input of ``ChatPipeline/run(_:transport:whileQueued:emit:)``.
public struct PreparedChat: Sendable {
    public var chat: Chat
    public var workspace: Workspace
    /// `nil` when query mode refuses without calling the model.
    public var request: LLMRequest?
    public var provider: (any LLMProvider)?
    public var sources: [ChatSource]
    /// The chat's place in its provider's queue (PROTOCOL §4 queuing); `nil` when no model is called.
    public var ticket: QueueTicket?

    public var chatId: String { chat.chatUuid }
    public var dbId: Int64 { chat.id! }
}

/// The one chat pipeline every transport uses (PROTOCOL §4):
/// validation → daily limit → context → LLM → token streaming → storage → telemetry.
///
/// ``prepare(_:workspace:threadId:caller:)`` runs the stages that may refuse the request, before a
/// single frame is sent; ``run(_:transport:emit:)`` streams the answer and never throws: every end,
/// including a cut stream, is stored and reported as a frame.
public struct ChatPipeline: Sendable {
    let store: any ChatStore
    let providers: ProviderCatalog
    let retriever: any Retriever
    let telemetry: ChatTelemetry
    let limits: ChatLimits
    let logger: Logger
    /// Tells an interruption by server shutdown from a client's cancel (both cancel the run's task).
    let shutdown: ShutdownSignal

    public static let defaultSystemPrompt =
        "You are a helpful assistant. Answer the user's latest message using the conversation and any context provided."

    public init(store: any ChatStore, providers: ProviderCatalog, retriever: any Retriever, telemetry: ChatTelemetry,
                limits: ChatLimits = ChatLimits(), logger: Logger, shutdown: ShutdownSignal = ShutdownSignal()) {
        self.store = store
        self.providers = providers
        self.retriever = retriever
        self.telemetry = telemetry
        self.limits = limits
        self.logger = logger
        self.shutdown = shutdown
    }

    /// Validates, checks the daily limit, stores the prompt and gathers the context. Throws an
    /// ``APIError`` (before any streaming) when the request cannot be served.
    public func prepare(_ request: ChatRequest, workspace: Workspace, threadId: Int64?, caller: ChatCaller,
                        now: Date = Date()) async throws -> PreparedChat {
        // 1. Validation
        let attachments = try request.validated(limits: limits)
        let mode = request.mode ?? workspace.chatMode
        let (provider, model) = try providers.provider(for: workspace)
        // A full queue refuses before the prompt is stored, so the transport can still answer 503.
        let queue = providers.queue(for: provider)
        try queue.checkAdmission()

        // 2. Daily limit, atomically with storing the prompt row, so the prompt is never lost.
        let chat = try await store.beginChat(
            Chat(workspaceId: workspace.id!, threadId: threadId, userId: caller.userId, prompt: request.message,
                 attachments: attachments.map(\.info), apiSessionId: request.sessionId, mode: mode, model: model),
            dailyLimit: caller.dailyMessageLimit, now: now)

        // 3. Context: the caller's own documents (as their own chats are their history), then
        // (chat mode) history.
        let retrieval: Retrieval
        do {
            retrieval = try await retriever.retrieve(query: request.message, workspace: workspace, ownerId: caller.userId)
        } catch {
            try? await store.finishChat(id: chat.id!, outcome: ChatOutcome(
                response: "", status: .failed, usage: nil, model: model, error: "retrieval failed: \(error)"))
            // A full embeddings queue is the client's `503 overloaded` with its `Retry-After`, not a fault.
            if let overloaded = error as? APIError, overloaded.code == .overloaded { throw overloaded }
            throw APIError(.internal, "Looking up the workspace's documents failed.")
        }
        // Query mode answers only when some passage matches the question; pinned passages are in
        // every context, so on their own they would make every question look answerable.
        if mode == .query && !retrieval.matched {
            return PreparedChat(chat: chat, workspace: workspace, request: nil, provider: nil, sources: [])
        }
        let sources = retrieval.chunks.map(\.source)
        var system = systemPrompt(workspace: workspace, mode: mode, chunks: retrieval.chunks)
        if let extra = request.clientSystemPrompt, !extra.isEmpty { system += "\n\n" + extra }
        var messages: [LLMMessage] = [.system(system)]
        if mode == .chat, let history = request.history {
            messages += history
        } else if mode == .chat {
            let conversation = Conversation(workspaceId: workspace.id!, threadId: threadId, userId: caller.userId,
                                            sessionId: request.sessionId)
            for previous in try await store.contextWindow(conversation, limit: workspace.historyLength) {
                messages.append(.user(previous.prompt))
                messages.append(.assistant(previous.response))
            }
        }
        messages.append(.user(userContent(request.message, attachments: attachments),
                              images: attachments.compactMap(\.image)))
        let llmRequest = LLMRequest(model: model, messages: messages, temperature: workspace.temperature)
        let ticket: QueueTicket
        do {
            ticket = try queue.reserve(QueueClaim(userId: caller.userId))
        } catch {
            // The queue filled up while the context was gathered.
            try? await store.finishChat(id: chat.id!, outcome: ChatOutcome(
                response: "", status: .failed, usage: nil, model: model, error: "\(error)"))
            throw error
        }
        return PreparedChat(chat: chat, workspace: workspace, request: llmRequest, provider: provider, sources: sources,
                            ticket: ticket)
    }

    /// Streams the answer through `emit`, stores it and records telemetry. When the task is cancelled
    /// (the client left or asked to stop, or the server shuts down: the run's owner cancels it) the
    /// upstream request is cancelled and the partial answer stored, as `interrupted` once the
    /// shutdown signal is triggered (PROTOCOL §8).
    ///
    /// `whileQueued` runs a few times a second while the chat waits for a provider slot, sending no
    /// frame: SSE writes a keep-alive comment there, so a client that left is noticed (by the failed
    /// write) and its chat leaves the queue.
    @discardableResult
    public func run(_ prepared: PreparedChat, transport: String, whileQueued: @Sendable () async -> Void = {},
                    emit: @Sendable (ChatFrame) async -> Void) async -> ChatCompletion {
        await runToEnd(prepared, transport: transport, whileQueued: whileQueued, emit: emit)
    }

    private func runToEnd(_ prepared: PreparedChat, transport: String, whileQueued: @Sendable () async -> Void,
                          emit: @Sendable (ChatFrame) async -> Void) async -> ChatCompletion {
        let chatId = prepared.chatId
        let clock = ContinuousClock()
        let start = clock.now
        var seq = 0
        func frame(_ kind: ChatFrame.Kind) -> ChatFrame {
            defer { seq += 1 }
            return ChatFrame(chatId: chatId, seq: seq, kind: kind)
        }
        telemetry.streamStarted()
        defer { telemetry.streamEnded() }
        await emit(frame(.start(message: "Processing...")))

        var response = ""
        var usage: Usage?
        var firstToken: ContinuousClock.Instant?
        var status = Chat.Status.completed
        var failure: APIError?
        if let request = prepared.request, let provider = prepared.provider {
            do {
                let events = if let ticket = prepared.ticket {
                    try await ticket.stream(request, from: provider, onPosition: { position in
                        await emit(frame(.queued(position: position)))
                    }, onTick: whileQueued)
                } else {
                    try await provider.stream(request)
                }
                for try await event in events {
                    switch event {
                    case .text(let token):
                        if firstToken == nil { firstToken = clock.now }
                        response += token
                        await emit(frame(.token(token)))
                    case .usage(let reported):
                        usage = reported
                    case .toolCallStart, .toolCallArguments, .toolCallEnd, .finish:
                        break  // plain chat offers no tools
                    }
                    try Task.checkCancellation()
                }
            } catch is CancellationError {
                status = cancelledStatus
            } catch let error as APIError {
                status = Task.isCancelled ? cancelledStatus : .failed
                failure = error
            } catch {
                status = Task.isCancelled ? cancelledStatus : .failed
                failure = ProviderFailure.error(error, provider: "\(provider.kind)", logger: logger)
            }
            prepared.ticket?.release()
        } else {
            // Query mode with nothing to answer from: the workspace's refusal, without calling a model.
            firstToken = clock.now
            response = prepared.workspace.queryRefusalResponse
            await emit(frame(.token(response)))
        }

        let end = clock.now
        let finalUsage = usage ?? Usage(
            promptTokens: prepared.request.map { TokenEstimate.count($0.messages) } ?? 0,
            completionTokens: TokenEstimate.count(response))
        let outcome = ChatOutcome(response: response, status: status, usage: finalUsage, model: prepared.request?.model,
                                  sources: prepared.sources, error: failure?.message)
        let metrics = StreamMetrics(
            ttftMilliseconds: firstToken.map { start.duration(to: $0).milliseconds } ?? 0,
            durationMilliseconds: start.duration(to: end).milliseconds,
            tokensPerSecond: firstToken.map { first in
                let seconds = first.duration(to: end).milliseconds / 1000
                return seconds > 0 ? Double(finalUsage.completionTokens) / seconds : 0
            } ?? 0,
            queueMilliseconds: prepared.ticket?.waited.milliseconds ?? 0)
        let completion = ChatCompletion(dbId: prepared.dbId, response: response, status: status, usage: finalUsage,
                                        metrics: metrics, sources: prepared.sources, failure: failure)
        // Stored before the last frame goes out: a client that got it finds the chat stored. Its
        // event row goes in the same write (one hop to the writer per answer, not two).
        let providerKind = prepared.provider?.kind ?? "none"
        await store(prepared.chat, outcome: outcome, recording: telemetry.event(
            transport: transport, provider: providerKind, chat: prepared.chat, outcome: outcome, usage: finalUsage,
            metrics: metrics, errorCode: failure?.code))
        if !prepared.sources.isEmpty { await emit(frame(.sources(prepared.sources))) }
        if let failure {
            await emit(frame(.error(failure, dbId: prepared.dbId)))
        } else {
            await emit(frame(.complete(completion)))
        }
        logger.info("chat finished", metadata: [
            "chat_id": "\(chatId)", "db_id": "\(prepared.dbId)", "transport": "\(transport)", "status": "\(status.rawValue)",
            "completion_tokens": "\(finalUsage.completionTokens)", "duration_ms": "\(metrics.durationMilliseconds.rounded3)",
        ])
        telemetry.count(transport: transport, provider: providerKind, outcome: outcome, usage: finalUsage, metrics: metrics,
                        errorCode: failure?.code)
        return completion
    }

    /// The storage stage, also for a chat that streamed its own way (an agent run's steps): stores
    /// its outcome even when the calling task is cancelled (the partial answer must survive a disconnect).
    public func store(_ chat: Chat, outcome: ChatOutcome) async {
        await Self.detachedFromCancellation { [store, logger] in
            do {
                try await store.finishChat(id: chat.id!, outcome: outcome)
            } catch {
                logger.error("storing chat response failed", metadata: ["chat_id": "\(chat.chatUuid)", "error": "\(error)"])
            }
        }
    }

    /// ``store(_:outcome:)`` with the chat's event row in the same write (the telemetry stage's row).
    func store(_ chat: Chat, outcome: ChatOutcome, recording event: EventLog) async {
        await Self.detachedFromCancellation { [store, logger, telemetry] in
            do {
                if case .failure(let error) = try await store.finishChat(id: chat.id!, outcome: outcome, recording: event) {
                    telemetry.eventNotStored(error)
                }
            } catch {
                logger.error("storing chat response failed", metadata: ["chat_id": "\(chat.chatUuid)", "error": "\(error)"])
                // As when they were two writes: the event row is still recorded.
                do { try await store.record(event) } catch { telemetry.eventNotStored(error) }
            }
        }
    }

    /// The telemetry stage, also for a chat that streamed its own way: metrics and the event log.
    public func recordTelemetry(chat: Chat, transport: String, provider: String, outcome: ChatOutcome, metrics: StreamMetrics,
                                errorCode: APIError.Code?) async {
        await Self.detachedFromCancellation { [telemetry] in
            await telemetry.record(transport: transport, provider: provider, chat: chat, outcome: outcome,
                                   usage: outcome.usage ?? .zero, metrics: metrics, errorCode: errorCode)
        }
    }

    /// How a cancelled generation is stored: `interrupted` when the server is shutting down.
    private var cancelledStatus: Chat.Status { shutdown.isTriggered ? .interrupted : .cancelled }

    /// Runs `work` to completion even if the calling task is cancelled (GRDB refuses to start work
    /// in a cancelled task), still awaiting it so nothing outlives the caller.
    public static func detachedFromCancellation(_ work: @escaping @Sendable () async -> Void) async {
        guard Task.isCancelled else { return await work() }
        await Task { await work() }.value
    }

    private func systemPrompt(workspace: Workspace, mode: Workspace.ChatMode, chunks: [RetrievedChunk]) -> String {
        var prompt = workspace.systemPrompt ?? Self.defaultSystemPrompt
        if mode == .query {
            prompt += "\n\nAnswer only from the context below. If the context does not contain the answer, say so."
        }
        if !chunks.isEmpty {
            prompt += "\n\nContext:\n"
            for (index, chunk) in chunks.enumerated() {
                // The heading names what the passage is about; the chunk text rarely repeats it.
                let section = chunk.heading.map { " › \($0)" } ?? ""
                prompt += "[\(index + 1)] \(chunk.source.title)\(section)\n\(chunk.source.chunk)\n\n"
            }
        }
        return prompt
    }

    private func userContent(_ message: String, attachments: [DecodedAttachment]) -> String {
        let texts = attachments.filter { $0.text != nil }
        guard !texts.isEmpty else { return message }
        var content = message
        for attachment in texts {
            content += "\n\nAttached file \(attachment.info.name) (\(attachment.info.mime)):\n```\n\(attachment.text!)\n```"
        }
        return content
    }
}
