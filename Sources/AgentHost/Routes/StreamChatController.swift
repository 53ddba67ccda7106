import AsyncAlgorithms
import ChatBridge
import Foundation
import Hummingbird

/// `POST /api/chats/stream_chat/`: the chat pipeline over server-sent events (PROTOCOL §4).
struct StreamChatController {
    let chats: any ChatStore
    let pipeline: ChatPipeline
    /// Fair use: a generation takes a slot before anything is stored, and frees it when the stream ends.
    let slots: GenerationSlots
    /// How often a comment line keeps idle proxies from closing the stream while the model thinks.
    let keepAliveInterval: Duration

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
        let prepared = try await pipeline.prepare(
            ChatRequest(message: body.message, attachments: body.attachments ?? [], mode: body.mode, sessionId: body.sessionId),
            workspace: workspace, threadId: thread?.id, caller: principal.chatCaller)
        context.logger.info("chat started", metadata: ["chat_id": "\(prepared.chatId)", "workspace": "\(workspace.slug)"])
        return SSE.response { writer in
            try await SSE.stream(keepAlive: keepAliveInterval, to: &writer) { send in
                defer { slot.release() }
                await pipeline.run(prepared, transport: "sse", whileQueued: { await send(SSE.keepAliveComment) }) { frame in
                    await send(SSE.event(type: frame.type, id: frame.seq, data: frame.json()))
                }
            }
        }
    }
}

extension Principal {
    var chatCaller: ChatCaller {
        ChatCaller(userId: userId, dailyMessageLimit: dailyMessageLimit)
    }
}
