import ChatBridge
import OpenAPIKit
import Tools

/// The shared component schemas of the OpenAPI description: the objects several routes answer with.
/// They follow the representations in `Representations/` and PROTOCOL §3; a field that is always
/// present but may be `null` is required and nullable, a field that is left out when empty is optional.
enum APISchemas {
    /// `$ref: #/components/schemas/<name>`.
    static func ref(_ name: String) -> JSONSchema {
        .reference(.component(named: name))
    }

    /// A reference that may also be `null`.
    static func nullableRef(_ name: String) -> JSONSchema {
        .one(of: [ref(name), .null()])
    }

    static let timestamp = JSONSchema.string(format: .dateTime, description: "RFC 3339 UTC time.")
    static let id = JSONSchema.integer(format: .int64)

    /// A string enum of `cases`.
    static func oneOf<Values: Sequence>(_ cases: Values, nullable: Bool = false, required: Bool = true, description: String? = nil) -> JSONSchema
    where Values.Element: RawRepresentable, Values.Element.RawValue == String {
        .string(required: required, nullable: nullable, description: description,
                allowedValues: cases.map { AnyCodable($0.rawValue) } + (nullable ? [nil] : []))
    }

    static let usage = JSONSchema.object(properties: [
        "prompt_tokens": .integer, "completion_tokens": .integer,
    ])

    /// Every component schema, by name.
    static let all: OpenAPI.ComponentDictionary<JSONSchema> = [
        "Error": .object(
            description: "PROTOCOL §1: every HTTP error has this body. `rate_limited` adds `limit`, `used` and `resets_at`; "
                + "`overloaded` comes with a `Retry-After` header.",
            properties: [
                "error": .object(properties: [
                    "code": oneOf(APIError.Code.allCases),
                    "message": .string(description: "What went wrong and how to fix it."),
                    "limit": .integer(required: false),
                    "used": .integer(required: false),
                    "resets_at": .string(format: .dateTime, required: false),
                ]),
            ]),
        "Usage": usage,
        "User": .object(properties: [
            "id": id, "username": .string, "role": oneOf(User.Role.allCases),
            "daily_message_limit": .integer(nullable: true, description: "Chats per UTC day; null is unlimited."),
            "suspended": .boolean, "created_at": timestamp,
        ]),
        "Workspace": .object(properties: [
            "id": id, "name": .string, "slug": .string, "chat_mode": oneOf(Workspace.ChatMode.allCases),
            "system_prompt": .string(nullable: true), "history_length": .integer, "query_refusal_response": .string,
            "provider": .string(nullable: true), "model": .string(nullable: true), "temperature": .number(nullable: true),
            "agent_max_steps": .integer, "agent_tools": .array(nullable: true, items: .string),
            "top_n": .integer, "similarity_threshold": .number,
            "tool_calling": oneOf(ToolCallingMode.allCases, nullable: true, description: "null: the provider's mode."),
            "mcp_servers": .array(items: ref("MCPServer")),
            "created_at": timestamp, "updated_at": timestamp,
        ]),
        "MCPServer": .object(
            description: "An MCP server whose tools join the server tools as `<name>__<tool>` (PROTOCOL §10). In responses, "
                + "`env` and `headers` values are masked as `********`; sending a masked value back keeps the stored one.",
            properties: [
                "name": .string(pattern: "^[a-z0-9_-]+$"), "transport": .string(allowedValues: "stdio", "http"),
                "command": .string(required: false), "args": .array(required: false, items: .string),
                "env": .object(required: false, additionalProperties: .init(.string)), "url": .string(required: false),
                "headers": .object(required: false, additionalProperties: .init(.string)),
                "tools": .array(required: false, nullable: true, description: "Allow-list of the server's tool names.", items: .string),
                "requires_approval": .boolean(required: false), "timeout_ms": .integer(required: false, nullable: true),
            ]),
        "WorkspaceSettings": .object(
            description: "The settings of a workspace; on create `name` is required, on PATCH a field left out keeps its value "
                + "and `null` resets an optional one.",
            properties: [
                "name": .string(required: false, minLength: 1, maxLength: 200),
                "chat_mode": oneOf(Workspace.ChatMode.allCases, required: false),
                "system_prompt": .string(required: false, nullable: true),
                "history_length": .integer(required: false, maximum: (1000, exclusive: false), minimum: (0, exclusive: false)),
                "query_refusal_response": .string(required: false, nullable: true),
                "provider": .string(required: false, nullable: true, allowedValues: ["openai", "anthropic", "cohere", nil]),
                "model": .string(required: false, nullable: true),
                "temperature": .number(required: false, nullable: true, maximum: (2, exclusive: false), minimum: (0, exclusive: false)),
                "agent_max_steps": .integer(required: false, maximum: (100, exclusive: false), minimum: (1, exclusive: false)),
                "agent_tools": .array(required: false, nullable: true, items: .string),
                "top_n": .integer(required: false, maximum: (50, exclusive: false), minimum: (1, exclusive: false)),
                "similarity_threshold": .number(required: false, maximum: (1, exclusive: false), minimum: (0, exclusive: false)),
                "tool_calling": oneOf(ToolCallingMode.allCases, nullable: true, required: false),
                "mcp_servers": .array(required: false, description: "Admins only.", items: ref("MCPServer")),
            ]),
        "Thread": .object(properties: [
            "id": id, "slug": .string, "name": .string, "workspace": .string,
            "user_id": .integer(format: .int64, nullable: true), "created_at": timestamp, "updated_at": timestamp,
        ]),
        "Source": .object(description: "A document passage put into the model's context.", properties: [
            "title": .string, "chunk": .string, "score": .number, "document_id": .integer(format: .int64, required: false),
        ]),
        "AttachmentInfo": .object(properties: ["name": .string, "mime": .string, "size": .integer]),
        "Attachment": .object(description: "A file sent with a message; its text goes into the context.", properties: [
            "name": .string, "mime": .string, "content_base64": .string(description: "The file, base64-encoded."),
        ]),
        "Chat": .object(description: "One stored exchange (PROTOCOL §3).", properties: [
            "db_id": id, "chat_id": .string(format: .uuid), "workspace": .string, "thread": .string(nullable: true),
            "user_id": .integer(format: .int64, nullable: true), "prompt": .string, "response": .string,
            "sources": .array(items: ref("Source")), "attachments": .array(items: ref("AttachmentInfo")),
            "feedback": .boolean(nullable: true), "include": .boolean, "api_session_id": .string(nullable: true),
            "mode": oneOf(Workspace.ChatMode.allCases), "model": .string(nullable: true), "status": chatStatus,
            "usage": nullableRef("Usage"), "created_at": timestamp, "updated_at": timestamp,
        ]),
        "HistoryMessage": .object(properties: [
            "role": .string(allowedValues: "user", "assistant"), "content": .string, "chat_id": id, "sent_at": timestamp,
            "attachments": .array(required: false, items: ref("AttachmentInfo")),
            "sources": .array(required: false, items: ref("Source")),
            "feedback": .boolean(required: false),
            "status": chatStatus.optionalSchemaObject().with(description: "Left out when the chat completed."),
        ]),
        "Document": .object(properties: [
            "id": id, "workspace": .string, "user_id": .integer(format: .int64, nullable: true), "name": .string,
            "mime": .string, "size": .integer, "pinned": .boolean, "chunks": .integer,
            "text": .string(required: false, description: "The extracted text; only on `GET …/documents/{id}`."),
            "created_at": timestamp, "updated_at": timestamp,
        ]),
        "WelcomeMessage": .object(properties: [
            "id": id, "user_id": .integer(format: .int64, nullable: true, description: "null: shown to everyone."),
            "user_message": .string(nullable: true), "response": .string, "order_index": .integer, "created_at": timestamp,
        ]),
        "SearchResult": .object(properties: [
            "db_id": id, "workspace": .string, "thread": .string(nullable: true),
            "user_id": .integer(format: .int64, nullable: true), "prompt": .string, "response": .string,
            "prompt_snippet": .string, "response_snippet": .string, "status": chatStatus, "created_at": timestamp,
            "score": .number(description: "bm25 relevance; larger is better."),
        ]),
        "Tool": .object(description: "A client tool (PROTOCOL §5), run by the client that declared it.", properties: [
            "name": .string(pattern: AgentInvokeRequest.toolNamePattern),
            "description": .string(required: false),
            "parameters": .object(required: false, description: "JSON Schema of the arguments."),
            "executor": .string(required: false, allowedValues: "client"),
            "requires_approval": .boolean(required: false),
            "timeout_ms": .integer(required: false, maximum: (3_600_000, exclusive: false), minimum: (1, exclusive: false)),
        ]),
        "Invocation": .object(description: "An agent run with its whole step log (PROTOCOL §6).", properties: [
            "invocation_id": .string, "status": oneOf(AgentInvocation.Status.allCases), "message": .string,
            "response": .string, "db_id": .integer(format: .int64, nullable: true), "request_id": .string(nullable: true),
            "steps": .integer, "max_steps": .integer, "client_tools": .fragment(description: "The client tools it was started with."),
            "usage": ref("Usage"), "error": .string(nullable: true), "created_at": timestamp,
            "finished_at": .string(format: .dateTime, nullable: true),
            "duration_ms": .number(required: false, description: "Once finished."),
            "live": .boolean(description: "Whether the run is live and not finished: in this process, or (this view only, not the list) on another instance of the cluster."),
            "step_log": .array(items: .object(properties: [
                "step": .integer,
                "text": .string(required: false), "usage": usage.optionalSchemaObject(),
                "duration_ms": .number(required: false), "started_at": timestamp.optionalSchemaObject(),
                "tool_calls": .array(items: .object(properties: [
                    "call_id": .string(nullable: true), "name": .string(nullable: true), "executor": .string(nullable: true),
                    "arguments": .fragment, "output": .fragment, "is_error": .boolean, "duration_ms": .number,
                    "started_at": timestamp,
                ])),
            ])),
        ]),
        "Accepted": .object(properties: ["accepted": .boolean(allowedValues: true)]),
    ]

    /// The `type`s of chat generation frames (PROTOCOL §4; `ChatFrame.type`).
    static let chatEvents = ["chat_start", "chat_queued", "chat_token", "sources", "chat_complete", "error"]
    /// The `type`s of agent run frames (PROTOCOL §6; `AgentEvent.type`).
    static let agentEvents = ["agent_start", "agent_queued", "agent_token", "sources", "approval_required", "tool_call",
                              "tool_result", "agent_complete", "error"]

    static let chatStatus = JSONSchema.string(allowedValues: "streaming", "completed", "cancelled", "failed", "interrupted")
}
