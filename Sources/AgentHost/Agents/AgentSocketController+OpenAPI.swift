import OpenAPIKit

extension AgentSocketController {
    static let openAPIOperations: [APIOperation] = [
        APIOperation(
            .get, "/ws/agent/{slug}", id: "agentSocket", tag: "WebSocket", summary: "The agent protocol (WebSocket upgrade)",
            description: "PROTOCOL §6 over a WebSocket. Credentials go in the `Authorization` header or `?token=`; a bad one "
                + "is refused with `401` before the upgrade. OpenAPI cannot describe the frames; see the protocol. Without "
                + "an `Upgrade: websocket` request this path does not exist (`404`).",
            parameters: [WorkspacesController.slug, .query("token", "A JWT or API key, for browsers.")],
            responses: [101: .empty("Switched to the WebSocket protocol.")],
            errors: [.notFound]),
    ]
}
