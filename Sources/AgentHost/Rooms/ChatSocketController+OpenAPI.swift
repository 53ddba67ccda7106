import OpenAPIKit

extension ChatSocketController {
    static let openAPIOperations: [APIOperation] = [
        APIOperation(
            .get, "/ws/chat/{slug}", id: "chatSocket", tag: "WebSocket", summary: "A chat room (WebSocket upgrade)",
            description: "PROTOCOL §4 over a WebSocket: one room per workspace and thread. Credentials go in the "
                + "`Authorization` header or `?token=`; a bad one is refused with `401` before the upgrade. Without an "
                + "`Upgrade: websocket` request this path does not exist (`404`).",
            parameters: [WorkspacesController.slug, .query("thread", "A thread slug; the caller's default thread when left out."),
                         .query("token", "A JWT or API key, for browsers.")],
            responses: [101: .empty("Switched to the WebSocket protocol.")],
            errors: [.notFound]),
    ]
}
