import OpenAPIKit

extension SearchController {
    static let openAPIOperations: [APIOperation] = [
        APIOperation(
            .get, "/api/chats/search", id: "searchChats", tag: "Chats", summary: "Full-text search over chats",
            description: "The caller's chats (every chat, for admins), best match first.",
            parameters: [
                .query("q", "The query: words, \"phrases\", `-excluded`, `prefix*`.", required: true),
                .query("in", "Where to look.", schema: .string(allowedValues: "prompt", "response", "both", defaultValue: "both")),
                .query("workspace", "A workspace slug."),
                .query("thread", "A thread slug of `workspace` (needs `workspace`)."),
                .query("user", "Admins: a username or user id."),
                .query("from", "RFC 3339 time."),
                .query("to", "RFC 3339 time; a bare `YYYY-MM-DD` includes that whole day."),
                .query("limit", "Page size.", schema: .integer(maximum: (100, exclusive: false), minimum: (1, exclusive: false), defaultValue: 20)),
                .query("cursor", "The `next_cursor` of the previous page, unchanged."),
            ],
            responses: [200: .json("A page of results.", .object(properties: [
                "results": .array(items: APISchemas.ref("SearchResult")), "next_cursor": .string(nullable: true),
            ]))],
            errors: [.notFound]),
    ]
}
