import Foundation

/// A model request sent before the chat's run began (``ChatPipeline/prepare(_:workspace:threadId:caller:now:sendingEarly:)``):
/// its answer stream, or the error its sending ended with, which the run reports as it would its own.
struct OpenedStream: Sendable {
    var result: Result<LLMEventStream, any Error>
    /// When the request was sent: the chat's stream metrics count from here.
    var sentAt: ContinuousClock.Instant
}

extension ChatPipeline {
    /// What the context stage needs to know of a chat that passed validation.
    struct ContextStage: Sendable {
        var request: ChatRequest
        var attachments: [DecodedAttachment]
        var mode: Workspace.ChatMode
        var workspace: Workspace
        var threadId: Int64?
        var caller: ChatCaller
        var provider: any LLMProvider
        var model: String
        var queue: ProviderQueue
    }

    /// How the context stage ended. Failures are kept, not thrown, so that they are handled in the
    /// same order (and store the same outcome) whether the stage ran before or after the prompt row was stored.
    enum GatheredContext: Sendable {
        case retrievalFailed(any Error)
        /// Query mode with no matching passage: the workspace's refusal, without calling a model.
        case nothingToAnswerFrom
        case historyFailed(any Error)
        case reservationFailed(any Error)
        case ready(LLMRequest, sources: [ChatSource], ticket: QueueTicket, opened: OpenedStream?)
    }

    /// The caller's own documents, then (chat mode) history, then the model request and the chat's
    /// place in its provider's queue. With `sending`, a ticket that holds a slot at once sends the
    /// request too (one attempt; a throttled answer is waited out by the run, as its own would be).
    func gather(_ stage: ContextStage, sending: Bool) async -> GatheredContext {
        let retrieval: Retrieval
        do {
            retrieval = try await retriever.retrieve(query: stage.request.message, workspace: stage.workspace,
                                                     ownerId: stage.caller.userId)
        } catch {
            return .retrievalFailed(error)
        }
        // Query mode answers only when some passage matches the question; pinned passages are in
        // every context, so on their own they would make every question look answerable.
        if stage.mode == .query && !retrieval.matched { return .nothingToAnswerFrom }
        let sources = retrieval.chunks.map(\.source)
        var system = systemPrompt(workspace: stage.workspace, mode: stage.mode, chunks: retrieval.chunks)
        if let extra = stage.request.clientSystemPrompt, !extra.isEmpty { system += "\n\n" + extra }
        var messages: [LLMMessage] = [.system(system)]
        if stage.mode == .chat, let history = stage.request.history {
            messages += history
        } else if stage.mode == .chat {
            let conversation = Conversation(workspaceId: stage.workspace.id!, threadId: stage.threadId, userId: stage.caller.userId,
                                            sessionId: stage.request.sessionId)
            do {
                for previous in try await store.contextWindow(conversation, limit: stage.workspace.historyLength) {
                    messages.append(.user(previous.prompt))
                    messages.append(.assistant(previous.response))
                }
            } catch {
                return .historyFailed(error)
            }
        }
        messages.append(.user(userContent(stage.request.message, attachments: stage.attachments),
                              images: stage.attachments.compactMap(\.image)))
        let llmRequest = LLMRequest(model: stage.model, messages: messages, temperature: stage.workspace.temperature)
        let ticket: QueueTicket
        do {
            ticket = try stage.queue.reserve(QueueClaim(userId: stage.caller.userId))
        } catch {
            return .reservationFailed(error)
        }
        guard sending, ticket.holdsSlot else { return .ready(llmRequest, sources: sources, ticket: ticket, opened: nil) }
        let sentAt = ContinuousClock.now
        let result: Result<LLMEventStream, any Error>
        do {
            result = .success(try await stage.provider.stream(llmRequest))
        } catch {
            // The queue pauses at once for a throttling upstream, as it does when the run's own attempt is
            // throttled: no other request may reach it before the run handles this one (and waits it out).
            if let throttled = error as? ProviderThrottled {
                let remaining = ContinuousClock.now.duration(to: throttled.receivedAt + throttled.retryAfter)
                stage.queue.pause(for: min(remaining, stage.queue.timeout))
            }
            result = .failure(error)
        }
        return .ready(llmRequest, sources: sources, ticket: ticket, opened: OpenedStream(result: result, sentAt: sentAt))
    }

    /// The chat whose prompt row is stored, with its gathered context; a failed stage ends the row
    /// as `failed` (where it did before the stages overlapped) and throws.
    func settle(_ chat: Chat, _ stage: ContextStage, _ gathered: GatheredContext) async throws -> PreparedChat {
        switch gathered {
        case .retrievalFailed(let error):
            try? await store.finishChat(id: chat.id!, outcome: ChatOutcome(
                response: "", status: .failed, usage: nil, model: stage.model, error: "retrieval failed: \(error)"))
            // A full embeddings queue is the client's `503 overloaded` with its `Retry-After`, not a fault.
            if let overloaded = error as? APIError, overloaded.code == .overloaded { throw overloaded }
            throw APIError(.internal, "Looking up the workspace's documents failed.")
        case .nothingToAnswerFrom:
            return PreparedChat(chat: chat, workspace: stage.workspace, request: nil, provider: nil, sources: [])
        case .historyFailed(let error):
            throw error
        case .reservationFailed(let error):
            // The queue filled up while the context was gathered.
            try? await store.finishChat(id: chat.id!, outcome: ChatOutcome(
                response: "", status: .failed, usage: nil, model: stage.model, error: "\(error)"))
            throw error
        case .ready(let request, let sources, let ticket, let opened):
            return PreparedChat(chat: chat, workspace: stage.workspace, request: request, provider: stage.provider,
                                sources: sources, ticket: ticket, opened: opened)
        }
    }
}
