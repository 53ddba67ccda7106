import OpenAPIKit

extension ChatsController {
    static let openAPIOperations: [APIOperation] = [
        APIOperation(
            .get, "/api/chats", id: "listChats", tag: "Chats", summary: "List chats, newest first",
            description: "The caller's chats (every chat, for admins), a page at a time.",
            parameters: [
                .query("workspace", "A workspace slug."),
                .query("thread", "A thread slug of `workspace` (needs `workspace`)."),
                .query("user", "Admins: a username or user id."),
                .query("session_id", "The `session_id` an API-key client sent."),
                .query("limit", "Page size.", schema: .integer(maximum: (500, exclusive: false), minimum: (1, exclusive: false), defaultValue: 50)),
                .query("cursor", "The `next_cursor` of the previous page, unchanged."),
            ],
            responses: [200: .json("A page of chats.", .object(properties: [
                "chats": .array(items: APISchemas.ref("Chat")), "next_cursor": .string(nullable: true),
            ]))],
            errors: [.notFound]),
        APIOperation(
            .get, "/api/chats/history", id: "chatHistory", tag: "Chats", summary: "A conversation as messages, oldest first",
            parameters: [
                .query("workspace", "A workspace slug.", required: true),
                .query("thread", "A thread slug; the caller's default thread when left out."),
                .query("from", "RFC 3339 time (or a date).", schema: .string),
                .query("to", "RFC 3339 time; a bare `YYYY-MM-DD` includes that whole day.", schema: .string),
                .query("include_excluded", "Also chats excluded from the context.", schema: .boolean(defaultValue: false)),
                .query("limit", "Chats (two messages each).", schema: .integer(maximum: (1000, exclusive: false), minimum: (1, exclusive: false), defaultValue: 100)),
            ],
            responses: [200: .json("The messages.", .object(properties: ["history": .array(items: APISchemas.ref("HistoryMessage"))]))],
            errors: [.notFound]),
        APIOperation(
            .post, "/api/chats/feedback", id: "chatFeedback", tag: "Chats", summary: "Rate a response",
            body: .json(.object(properties: [
                "chat_id": APISchemas.id.with(description: "The chat's `db_id`."),
                "feedback": .boolean(nullable: true, description: "null clears it."),
            ])),
            responses: [200: .json("The updated chat.", APISchemas.ref("Chat"))], errors: [.notFound]),
        APIOperation(
            .post, "/api/chats/reset", id: "resetChats", tag: "Chats", summary: "Exclude the caller's chats of a conversation from future context",
            body: .json(.object(properties: ["workspace": .string, "thread": .string(required: false)])),
            responses: [200: .json("How many chats were excluded.", .object(properties: ["reset": .integer]))], errors: [.notFound]),
        APIOperation(
            .patch, "/api/chats/{id}", id: "updateChat", tag: "Chats", summary: "Include or exclude a chat from the context",
            parameters: [.path("id", "The chat's `db_id`.", schema: APISchemas.id)],
            body: .json(.object(properties: ["include": .boolean])),
            responses: [200: .json("The updated chat.", APISchemas.ref("Chat"))], errors: [.notFound]),
    ]
}
