import ChatBridge
import OpenAPIKit

extension StreamChatController {
    static let openAPIOperations: [APIOperation] = [
        APIOperation(
            .post, "/api/chats/stream_chat", id: "streamChat", tag: "Chats", summary: "Chat, streamed (SSE)",
            description: "Every refusal (validation, daily limit, fair-use cap, full queue) is a JSON error before the stream starts.",
            body: .json(.object(properties: [
                "message": .string, "workspace": .string, "thread": .string(required: false),
                "mode": APISchemas.oneOf(Workspace.ChatMode.allCases, required: false),
                "session_id": .string(required: false),
                "attachments": .array(required: false, items: APISchemas.ref("Attachment")),
            ])),
            responses: [200: .eventStream(
                "PROTOCOL §4 frames: `chat_start`, `chat_queued` while waiting for a provider slot, `chat_token`s, `sources`, "
                    + "then `chat_complete` or `error` (the partial answer is stored; `db_id` set). A client that disconnects "
                    + "cancels the generation.", events: APISchemas.chatEvents)],
            errors: [.notFound, .rateLimited, .overloaded]),
    ]
}
