import OpenAPIKit

extension OpenAICompatibleController {
    static let openAPIOperations: [APIOperation] = [
        APIOperation(
            .post, "/v1/chat/completions", id: "chatCompletions", tag: "OpenAI-compatible", summary: "OpenAI chat completions",
            description: "`model` is a workspace slug. The last message must be a user message; earlier `system`/`developer` "
                + "messages join the system prompt and `user`/`assistant` ones are the history. Errors use this API's `Error` shape.",
            body: .json(.object(properties: [
                "model": .string(description: "A workspace slug (`GET /v1/models`)."),
                "messages": .array(minItems: 1, items: .object(properties: [
                    "role": .string,
                    "content": .one(of: [
                        .string, .array(items: .object(properties: ["type": .string, "text": .string(required: false)])), .null(),
                    ], core: .init(required: false)),
                ])),
                "stream": .boolean(required: false),
                "stream_options": .object(required: false, properties: ["include_usage": .boolean(required: false)]),
                "user": .string(required: false, description: "Recorded as the chat's session id."),
            ])),
            responses: [200: OpenAPI.Response(
                description: "A `chat.completion` object, or with `stream: true` `chat.completion.chunk`s as SSE `data:` lines "
                    + "ending with `data: [DONE]`.",
                content: [
                    .json: .content(.object(properties: [
                        "id": .string, "object": .string(allowedValues: "chat.completion"), "created": .integer, "model": .string,
                        "choices": .array(items: .object(properties: [
                            "index": .integer, "message": .object(properties: ["role": .string, "content": .string]),
                            "finish_reason": .string,
                        ])),
                        "usage": .object(properties: ["prompt_tokens": .integer, "completion_tokens": .integer, "total_tokens": .integer]),
                    ])),
                    .eventStream: .content(.object(
                        description: "One event of the stream: a `chat.completion.chunk` as JSON, or `[DONE]` last.",
                        properties: ["data": .string]))
                ])],
            errors: [.notFound, .rateLimited, .overloaded, .providerError]),
        APIOperation(
            .get, "/v1/models", id: "listModels", tag: "OpenAI-compatible", summary: "The workspaces, as OpenAI models",
            responses: [200: .json("A model list.", .object(properties: [
                "object": .string(allowedValues: "list"),
                "data": .array(items: .object(properties: [
                    "id": .string, "object": .string(allowedValues: "model"), "created": .integer, "owned_by": .string,
                ])),
            ]))]),
    ]
}
