import ChatBridge
import Foundation
import Hummingbird

/// `POST /v1/chat/completions`: the chat pipeline behind OpenAI's API shape, so the official SDKs and
/// any OpenAI-speaking tool can use AgentHost. `model` names the workspace (its slug).
struct OpenAICompatibleController {
    let chats: any ChatStore
    let pipeline: ChatPipeline
    /// Fair use: a generation takes a slot before anything is stored, and frees it when it ends.
    let slots: GenerationSlots
    let runner: ChatRunner
    let keepAliveInterval: Duration
    /// Chunks a stream may fall behind before it is cut off.
    let outboundBuffer: Int

    struct CompletionRequest: Decodable {
        struct Message: Decodable {
            var role: String
            var content: Content?
        }

        /// A message's content: a string, or an array of typed parts of which the text parts count.
        struct Content: Decodable {
            var text: String

            init(from decoder: any Decoder) throws {
                let container = try decoder.singleValueContainer()
                if let text = try? container.decode(String.self) {
                    self.text = text
                } else {
                    struct Part: Decodable {
                        var type: String
                        var text: String?
                    }
                    text = try container.decode([Part].self).compactMap { $0.type == "text" ? $0.text : nil }
                        .joined(separator: "\n")
                }
            }
        }

        struct StreamOptions: Decodable {
            var includeUsage: Bool?
        }

        var model: String
        var messages: [Message]
        var stream: Bool?
        var streamOptions: StreamOptions?
        var user: String?
    }

    func addRoutes(to group: RouterGroup<AppRequestContext>) {
        group.post("chat/completions", use: completions)
        group.get("models", use: models)
    }

    /// `GET /v1/models`: the workspaces, as the models OpenAI clients may name.
    @Sendable func models(_ request: Request, context: AppRequestContext) async throws -> Response {
        _ = try context.identity()
        let list: JSONValue = ["object": "list", "data": .array(try await chats.workspaces().map { workspace in
            ["id": .string(workspace.slug), "object": "model", "created": .number(workspace.createdAt.timeIntervalSince1970.rounded()),
             "owned_by": "agenthost"]
        })]
        return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: list.serialized())))
    }

    @Sendable func completions(_ request: Request, context: AppRequestContext) async throws -> Response {
        let principal = try context.identity()
        let body = try await request.decode(as: CompletionRequest.self, context: context)
        guard let workspace = try await chats.workspace(slug: body.model) else {
            throw APIError.notFound("Model '\(body.model)' (models are workspace slugs; GET /api/workspaces lists them)")
        }
        guard let last = body.messages.last, last.role == "user", let prompt = last.content?.text else {
            throw APIError.validation("The last message must be a user message with text content.")
        }
        var history: [LLMMessage] = []
        var system: [String] = []
        for message in body.messages.dropLast() {
            let text = message.content?.text ?? ""
            switch message.role {
            case "system", "developer": system.append(text)
            case "user": history.append(.user(text))
            case "assistant": history.append(.assistant(text))
            default: continue  // tool turns of the client's own loop are not part of a chat
            }
        }
        let slot = try slots.acquire(for: principal)
        let prepared: PreparedChat
        do {
            prepared = try await pipeline.prepare(
                ChatRequest(message: prompt, sessionId: body.user, history: history,
                            clientSystemPrompt: system.isEmpty ? nil : system.joined(separator: "\n\n")),
                workspace: workspace, threadId: nil, caller: principal.chatCaller)
        } catch {
            slot.release()
            throw error
        }
        let id = "chatcmpl-\(prepared.chatId)"
        let created = Int(Date().timeIntervalSince1970)
        let shape = ChunkShape(id: id, created: created, model: workspace.slug)

        guard body.stream == true else {
            let completion = await withCheckedContinuation { continuation in
                runner.start(prepared, transport: "openai", whenDone: { completion in
                    slot.release()
                    continuation.resume(returning: completion)
                })
            }
            if let failure = completion.failure { throw failure }
            let json = shape.completion(completion)
            return Response(status: .ok, headers: [.contentType: "application/json"],
                            body: .init(byteBuffer: ByteBuffer(bytes: json.serialized())))
        }
        // The generation is a run like any other (logged, cancelled when the client leaves); this
        // stream gets OpenAI's chunks for its frames, through the same bounded outbox as every stream.
        let includeUsage = body.streamOptions?.includeUsage == true
        let outbox = Outbox.sse(limit: outboundBuffer, on: context.channel, grace: keepAliveInterval)
        let content = ContentChunks(shape)
        outbox.deliver(.message(shape.chunk(delta: ["role": "assistant", "content": ""], finishReason: nil).serializedString))
        let run = runner.start(prepared, transport: "openai", whileQueued: { outbox.deliver(.keepAlive) }, also: { frame in
            switch frame.kind {
            case .token(let token):
                outbox.deliver(.message(content.chunk(token)))
            case .error(let error, _):
                outbox.deliver(["error": .object(error.streamFields)])
            case .start, .queued, .sources, .complete:
                break
            }
        }, whenDone: { completion in
            slot.release()
            if completion.failure == nil {
                outbox.deliver(.message(shape.chunk(delta: [:], finishReason: "stop").serializedString))
                if includeUsage { outbox.deliver(.message(shape.usageChunk(completion.usage).serializedString)) }
            }
            outbox.deliver(.message("[DONE]"))
            outbox.finish()
        })
        let keepAlive = keepAliveInterval
        let logger = context.logger
        let buffer = outboundBuffer
        return SSE.response { writer in
            let ending: SSE.Ending
            do {
                ending = try await SSE.write(outbox, keepAlive: keepAlive, to: &writer)
            } catch {
                // The client left: the generation stops and stores what it has; one cut off for slowness
                // (its stuck connection closed) can still replay it.
                if !outbox.isTooSlow { run.cancellation.request() }
                throw error
            }
            guard ending == .tooSlow else { return }
            // OpenAI's clients take a stream that ends without `[DONE]` for the whole answer: an error
            // event tells them it was cut off. The generation goes on and is stored (PROTOCOL §8).
            logger.warning("cut off a slow /v1 client", metadata: ["chat_id": "\(run.id)"])
            let cutOff = APIError(
                .overloaded, "This stream fell more than \(buffer) chunks behind and was cut off. The answer goes on and is "
                    + "stored: GET /api/runs/\(run.id)/events?after_seq=-1 replays it.", details: ["retry_after": .int(1)])
            var event = ByteBuffer()
            SSE.encode(.message(JSONValue.object(["error": .object(cutOff.streamFields)]).serializedString), into: &event)
            try await writer.write(event)
        }
    }
}

/// The chunk of one token, written from a template made once per stream: the bulk of a stream is
/// tokens, and building and sorting a nested object for each costs more than relaying it.
private struct ContentChunks: Sendable {
    private let prefix: [UInt8]
    private let suffix: [UInt8]

    init(_ shape: ChunkShape) {
        let marker = "\u{1}content\u{1}"
        var template: [UInt8] = []
        shape.chunk(delta: ["content": .string(marker)], finishReason: nil).write(to: &template)
        var written: [UInt8] = []
        JSONValue.writeString(marker, to: &written)
        let start = template.firstRange(of: written)!
        prefix = Array(template[..<start.lowerBound])
        suffix = Array(template[start.upperBound...])
    }

    /// `shape.chunk(delta: ["content": token], finishReason: nil)`, serialized.
    func chunk(_ token: String) -> String {
        var bytes = prefix
        bytes.reserveCapacity(prefix.count + suffix.count + token.utf8.count + 2)
        JSONValue.writeString(token, to: &bytes)
        bytes.append(contentsOf: suffix)
        return String(decoding: bytes, as: UTF8.self)
    }
}

/// The JSON shapes of OpenAI's chat completion objects.
private struct ChunkShape: Sendable {
    let id: String
    let created: Int
    let model: String

    func chunk(delta: JSONValue, finishReason: String?) -> JSONValue {
        ["id": .string(id), "object": "chat.completion.chunk", "created": .number(Double(created)), "model": .string(model),
         "choices": [["index": 0, "delta": delta, "finish_reason": finishReason.map { .string($0) } ?? .null]]]
    }

    func usageChunk(_ usage: Usage) -> JSONValue {
        ["id": .string(id), "object": "chat.completion.chunk", "created": .number(Double(created)), "model": .string(model),
         "choices": [], "usage": usageJSON(usage)]
    }

    func completion(_ completion: ChatCompletion) -> JSONValue {
        ["id": .string(id), "object": "chat.completion", "created": .number(Double(created)), "model": .string(model),
         "choices": [["index": 0, "message": ["role": "assistant", "content": .string(completion.response)],
                      "finish_reason": completion.status == .completed ? "stop" : "length"]],
         "usage": usageJSON(completion.usage)]
    }

    private func usageJSON(_ usage: Usage) -> JSONValue {
        ["prompt_tokens": .number(Double(usage.promptTokens)), "completion_tokens": .number(Double(usage.completionTokens)),
         "total_tokens": .number(Double(usage.promptTokens + usage.completionTokens))]
    }
}
