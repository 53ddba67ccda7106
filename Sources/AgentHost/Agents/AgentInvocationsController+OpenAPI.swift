import ChatBridge
import OpenAPIKit

extension AgentInvocationsController {
    static let invocationId = OpenAPI.Parameter.path("id", "The run's `invocation_id`.")

    static let openAPIOperations: [APIOperation] = [
        APIOperation(
            .get, "/api/agent/invocations", id: "listInvocations", tag: "Agents", summary: "The caller's runs, newest first",
            description: "Admins see everyone's. Each run as `GET /api/agent/invocations/{id}` shows it, without `step_log` and "
                + "`client_tools`, plus its `workspace` and `thread` slugs.",
            parameters: [
                .query("workspace", "Only runs in this workspace (slug)."),
                .query("thread", "Only runs in this thread (slug; needs `workspace`)."),
                .query("status", "Only runs with this status.", schema: APISchemas.oneOf(AgentInvocation.Status.allCases)),
                .query("limit", "Page size.", schema: .integer(maximum: (500, exclusive: false), minimum: (1, exclusive: false), defaultValue: 50)),
                .query("cursor", "The `next_cursor` of the previous page, unchanged."),
            ],
            responses: [200: .json("A page of runs.", .object(properties: [
                "invocations": .array(items: .object(properties: [
                    "invocation_id": .string, "status": APISchemas.oneOf(AgentInvocation.Status.allCases), "message": .string,
                    "workspace": .string, "thread": .string(nullable: true), "created_at": APISchemas.timestamp,
                ])),
                "next_cursor": .string(nullable: true),
            ]))],
            errors: [.notFound]),
        APIOperation(
            .post, "/api/agent/invocations", id: "startInvocation", tag: "Agents", summary: "Start an agent run (SSE)",
            description: "The `agent_invoke` of PROTOCOL §6 over HTTP, plus the `workspace`. Refusals (validation, daily limit, "
                + "per-user run cap) are JSON errors before the stream starts.",
            body: .json(.object(properties: [
                "workspace": .string, "message": .string, "thread": .string(required: false),
                "client_tools": .array(required: false, items: APISchemas.ref("Tool")),
                "tools": .array(required: false, description: "Server tool names.", items: .string),
                "max_steps": .integer(required: false, minimum: (1, exclusive: false)),
                "request_id": .string(required: false),
                "tool_choice": .one(of: [.string(allowedValues: "auto", "required", "none"), .object(properties: ["name": .string])],
                                    core: .init(required: false)),
            ])),
            responses: [200: .eventStream(
                "PROTOCOL §6 events (`agent_start`, `agent_queued`, `agent_token`, `tool_call`, `approval_required`, `tool_result`, "
                    + "`sources`, `agent_complete`, `error`), each with `invocation_id` and `seq`; `id:` is the `seq`. Answer client "
                    + "tool calls and approvals with the `tool_results` and `approvals` routes.", events: APISchemas.agentEvents)],
            errors: [.notFound, .rateLimited, .overloaded]),
        APIOperation(.get, "/api/agent/invocations/{id}", id: "getInvocation", tag: "Agents",
                     summary: "A run: status, steps, tool calls, usage", parameters: [invocationId],
                     responses: [200: .json("The run.", APISchemas.ref("Invocation"))], errors: [.notFound]),
        APIOperation(.get, "/api/agent/invocations/{id}/events", id: "invocationEvents", tag: "Agents",
                     summary: "Replay a run's events after `after_seq`, then follow it live (SSE)",
                     parameters: [invocationId, RunsController.afterSeq],
                     responses: [200: .eventStream("The run's frames with a larger `seq`, then live ones until it ends.",
                                                   events: APISchemas.agentEvents)],
                     errors: [.notFound]),
        APIOperation(
            .post, "/api/agent/invocations/{id}/tool_results", id: "postToolResult", tag: "Agents",
            summary: "Answer a client tool call", parameters: [invocationId],
            body: .json(.object(properties: [
                "call_id": .string, "output": .fragment(required: false, description: "Any JSON."),
                "is_error": .boolean(required: false), "invocation_id": .string(required: false),
            ])),
            responses: [200: .json("Delivered to the run.", APISchemas.ref("Accepted"))], errors: [.notFound, .conflict]),
        APIOperation(
            .post, "/api/agent/invocations/{id}/approvals", id: "postApproval", tag: "Agents",
            summary: "Approve or refuse a tool call that requires approval", parameters: [invocationId],
            body: .json(.object(properties: [
                "call_id": .string, "approved": .boolean, "reason": .string(required: false),
                "invocation_id": .string(required: false),
            ])),
            responses: [200: .json("Delivered to the run.", APISchemas.ref("Accepted"))], errors: [.notFound, .conflict]),
        APIOperation(.post, "/api/agent/invocations/{id}/cancel", id: "cancelInvocation", tag: "Agents", summary: "Cancel a run",
                     parameters: [invocationId],
                     responses: [202: .json("The run is being cancelled; it ends `cancelled`.", APISchemas.ref("Accepted"))],
                     errors: [.notFound, .conflict]),
    ]
}
