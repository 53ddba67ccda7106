import OpenAPIKit

extension AGUIController {
    static let lastEventId = OpenAPI.Parameter.header(
        name: "Last-Event-ID", required: false, schema: .string(pattern: "^-?[0-9]+$"),
        description: "Resume: the `id` of the last event received; the stream goes on after it.")

    static let aguiEvents = JSONSchema.object(
        description: "An AG-UI event (camelCase fields, discriminated by `type`), as the `data:` of one SSE event.",
        properties: ["type": .string(allowedValues: [
            "RUN_STARTED", "RUN_FINISHED", "RUN_ERROR", "STEP_STARTED", "STEP_FINISHED", "TEXT_MESSAGE_START",
            "TEXT_MESSAGE_CONTENT", "TEXT_MESSAGE_END", "TOOL_CALL_START", "TOOL_CALL_ARGS", "TOOL_CALL_END",
            "TOOL_CALL_RESULT", "CUSTOM",
        ])])

    static let openAPIOperations: [APIOperation] = [
        APIOperation(
            .post, "/api/agui/{workspace}", id: "runAGUIAgent", tag: "AG-UI", summary: "Run an agent over AG-UI (SSE)",
            description: "Takes an AG-UI `RunAgentInput` and streams AG-UI events as SSE `id:` + `data:` lines (PROTOCOL §10). "
                + "Frontend `tools` end the run with the pending calls (`RUN_FINISHED.outcome.pendingToolCallIds`); the next run "
                + "on the same `threadId` carries their results as trailing `tool` messages. Repeating the POST for a used "
                + "`runId` with `Last-Event-ID` resumes its stream.",
            parameters: [.path("workspace", "The workspace's slug."), lastEventId],
            body: .json(.object(properties: [
                "threadId": .string(description: "Names the caller's thread in the workspace (created on first use)."),
                "runId": .string(description: "The run's id; also its agent invocation id.", pattern: "^[A-Za-z0-9._:-]{1,128}$"),
                "messages": .array(description: "Only the end is read: a final user message, or trailing tool results.",
                                   items: .object(properties: [
                                       "role": .string(allowedValues: "user", "assistant", "system", "developer", "tool"),
                                       "content": .fragment(required: false),
                                       "toolCallId": .string(required: false),
                                   ])),
                "tools": .array(required: false, description: "Frontend tools, executed by the client.", items: .object(properties: [
                    "name": .string, "description": .string(required: false), "parameters": .object(required: false),
                ])),
                "context": .array(required: false, items: .object(properties: ["description": .string, "value": .string])),
                "state": .fragment(required: false), "forwardedProps": .fragment(required: false),
            ])),
            responses: [200: .eventStream("AG-UI events; `id:` is the event's position in the run's AG-UI stream.")],
            errors: [.notFound, .conflict, .rateLimited, .overloaded]),
        APIOperation(
            .get, "/api/agui/runs/{runId}/events", id: "aguiRunEvents", tag: "AG-UI",
            summary: "Replay an AG-UI run's events after a position, then follow it live (SSE)",
            parameters: [.path("runId", "The AG-UI `runId`."),
                         .query("after_seq", "Replay the events after this position (-1, the default: all).",
                                schema: .integer(minimum: (-1, exclusive: false), defaultValue: -1)),
                         lastEventId],
            responses: [200: .eventStream("AG-UI events after the position, then live ones until the run ends.")],
            errors: [.notFound]),
    ]
}
