import ChatBridge
import Foundation
import Hummingbird

/// `POST /api/chats/stream_chat/`: the chat pipeline over server-sent events (PROTOCOL §4).
///
/// The generation is a run (PROTOCOL §8): this stream watches it through the one outbound policy.
/// A client that goes away cancels it (its partial answer is stored); one that falls too far
/// behind is cut off and can pick it up again with `GET /api/runs/{chat_id}/events?after_seq=`.
struct StreamChatController {
    let chats: any ChatStore
    let pipeline: ChatPipeline
    let runner: ChatRunner
    /// Fair use: a generation takes a slot before anything is stored, and frees it when it ends.
    let slots: GenerationSlots
    /// How often a comment line keeps idle proxies from closing the stream while the model thinks.
    let keepAliveInterval: Duration
    /// Frames a stream may fall behind before it is cut off.
    let outboundBuffer: Int

    struct StreamChatRequest: Decodable {
        var message: String
        var workspace: String
        var thread: String?
        var mode: Workspace.ChatMode?
        var sessionId: String?
        var attachments: [Attachment]?
    }

    func addRoutes(to group: RouterGroup<AppRequestContext>) {
        group.post("stream_chat", use: streamChat)
    }

    @Sendable func streamChat(_ request: Request, context: AppRequestContext) async throws -> Response {
        let principal = try context.identity()
        let body = try await request.decode(as: StreamChatRequest.self, context: context)
        let workspace = try await chats.requireWorkspace(slug: body.workspace)
        let thread = try await chats.requireThread(slug: body.thread, in: workspace, viewer: principal.viewer)
        // Every refusal (too many in flight, validation, daily limit, unknown provider) is a JSON error
        // before the stream starts.
        let slot = try slots.acquire(for: principal)
        let prepared: PreparedChat
        do {
            prepared = try await pipeline.prepare(
                ChatRequest(message: body.message, attachments: body.attachments ?? [], mode: body.mode, sessionId: body.sessionId),
                workspace: workspace, threadId: thread?.id, caller: principal.chatCaller)
        } catch {
            slot.release()
            throw error
        }
        context.logger.info("chat started", metadata: ["chat_id": "\(prepared.chatId)", "workspace": "\(workspace.slug)"])
        let outbox = Outbox.sse(limit: outboundBuffer, on: context.channel, grace: keepAliveInterval)
        // While the chat waits for a provider slot no frame flows: a keep-alive a second notices a
        // client that left (its write fails), so its chat leaves the queue.
        let run = runner.start(prepared, transport: "sse", watchers: [outbox], endsWithRun: true, whileQueued: { outbox.deliver(.keepAlive) },
                               whenDone: { _ in slot.release() })
        let keepAlive = keepAliveInterval
        let logger = context.logger
        return SSE.response { writer in
            do {
                if try await SSE.write(outbox, keepAlive: keepAlive, to: &writer) == .tooSlow {
                    logger.warning("cut off a slow SSE client", metadata: ["chat_id": "\(run.id)"])
                }
            } catch {
                // The client left: the generation stops and stores what it has (PROTOCOL §4); one cut
                // off for slowness (its stuck connection closed) can still resume it.
                run.detach(outbox)
                if !outbox.isTooSlow { run.cancellation.request() }
                throw error
            }
        }
    }
}

extension Principal {
    var chatCaller: ChatCaller {
        ChatCaller(userId: userId, dailyMessageLimit: dailyMessageLimit)
    }
}
