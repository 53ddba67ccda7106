import OpenAPIKit

extension RunsController {
    static let afterSeq = OpenAPI.Parameter.query(
        "after_seq", "Replay the frames with a larger `seq` (-1, the default: all).",
        schema: .integer(minimum: (-1, exclusive: false), defaultValue: -1))

    static let openAPIOperations: [APIOperation] = [
        APIOperation(
            .get, "/api/runs/{id}/events", id: "runEvents", tag: "Runs", summary: "Any run's frames (SSE)",
            description: "A chat generation (its `chat_id`) or an agent run (its `invocation_id`): the logged frames after "
                + "`after_seq`, then live ones until it ends (PROTOCOL §8); after a restart too, while its log is kept.",
            parameters: [.path("id", "The run's id."), afterSeq],
            responses: [200: .eventStream("The run's frames (PROTOCOL §4 or §6), `id:` being each frame's `seq`.",
                                          events: Array(Set(APISchemas.chatEvents + APISchemas.agentEvents)).sorted())],
            errors: [.notFound]),
    ]
}
