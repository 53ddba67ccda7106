import Foundation
import OpenAPIKit

/// The OpenAPI 3.1 description of the REST API, served at `GET /openapi.json`.
///
/// Built from the operations each controller lists in its `+OpenAPI` file and the shared schemas of
/// ``APISchemas``; encoded once, when the router is built. A new route adds its ``APIOperation`` to
/// its controller's `openAPIOperations`; a new controller adds its list to ``operations``.
enum OpenAPIDescription {
    /// Every documented operation, controller by controller.
    static var operations: [APIOperation] {
        OpenAPIController.openAPIOperations
            + HealthController.openAPIOperations
            + MetricsController.openAPIOperations
            + AuthController.openAPIOperations
            + WorkspacesController.openAPIOperations
            + WorkspaceToolsController.openAPIOperations
            + DocumentsController.openAPIOperations
            + ChatsController.openAPIOperations
            + StreamChatController.openAPIOperations
            + SearchController.openAPIOperations
            + ExportController.openAPIOperations
            + WelcomeMessagesController.openAPIOperations
            + AgentInvocationsController.openAPIOperations
            + RunsController.openAPIOperations
            + AGUIController.openAPIOperations
            + OpenAICompatibleController.openAPIOperations
            + AgentSocketController.openAPIOperations
            + ChatSocketController.openAPIOperations
    }

    static let info = OpenAPI.Document.Info(
        title: "AgentHost",
        description: """
            LLM chats and agents for programs and people. JSON bodies and answers use snake_case fields and \
            RFC 3339 UTC times. Every route also answers with a trailing slash (`/api/chats/`). Errors have one \
            shape everywhere (`Error`), with the HTTP status following the code (PROTOCOL §1).

            Auth: in multi-user mode send `Authorization: Bearer <token>`, where the token is a JWT from \
            `POST /api/auth/login` or an API key from `agenthost api-keys create`; WebSocket upgrades may pass it \
            as `?token=`. In single-user mode (no user exists) no credentials are needed and any `Authorization` \
            header is ignored; the server then listens only on loopback unless started with \
            `--allow-unauthenticated`. This description itself, `GET /api/health`, `GET /metrics` and \
            `POST /api/auth/login` are public.

            Browsers: a request whose `Origin` is neither the server's own nor in `--allowed-origins` is refused \
            with `403`, and so is a single-user request whose `Host` is not loopback or in `--allowed-hosts`.

            Streams (`text/event-stream`) send `event: <type>`, `id: <seq>` and `data: <json frame>` blocks, and \
            `:` comment lines as keep-alives; a stream that was cut can be picked up again with \
            `GET /api/runs/{id}/events?after_seq=<last id>`.
            """,
        version: "1")

    /// The security schemes: both credentials travel as `Authorization: Bearer`.
    static let securitySchemes: OpenAPI.ComponentReferenceDictionary<OpenAPI.SecurityScheme> = [
        "bearerJWT": .init(.http(scheme: "bearer", bearerFormat: "JWT",
                                 description: "A session token from `POST /api/auth/login` (HS256).")),
        "apiKey": .init(.http(scheme: "bearer", bearerFormat: "API key",
                              description: "An API key from `agenthost api-keys create`; chats record the request's `session_id`.")),
    ]

    /// The document. The empty requirement says what single-user mode does: no credentials.
    static func document() -> OpenAPI.Document {
        var paths: OpenAPI.PathItem.Map = [:]
        for entry in operations {
            let path = OpenAPI.Path(rawValue: entry.path)
            var item = paths[path]?.pathItemValue ?? OpenAPI.PathItem()
            item[entry.method] = entry.operation
            paths[path] = .init(item)
        }
        return OpenAPI.Document(
            openAPIVersion: .v3_1_1,
            info: info,
            servers: [],
            paths: paths,
            components: OpenAPI.Components(schemas: APISchemas.all, securitySchemes: securitySchemes),
            security: [[.component(named: "bearerJWT"): []], [.component(named: "apiKey"): []], [:]])
    }

    /// The document as JSON bytes.
    static func encoded() throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes]
        return Array(try encoder.encode(document()))
    }
}
