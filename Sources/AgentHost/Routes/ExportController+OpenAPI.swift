import ChatBridge
import OpenAPIKit

extension ExportController {
    static let openAPIOperations: [APIOperation] = [
        APIOperation(
            .post, "/api/chats/export", id: "exportChats", tag: "Chats", summary: "Export chats as a file (streamed)",
            description: "The caller's chats (every chat, for admins). The body is streamed with "
                + "`Content-Disposition: attachment`; errors come as JSON before it starts.",
            body: .json(.object(properties: [
                "format": .string(allowedValues: ExportFormat.allCases.map { AnyCodable($0.rawValue) }),
                "workspace": .string(required: false), "thread": .string(required: false),
                "from": .string(required: false, description: "RFC 3339 time or a date."),
                "to": .string(required: false, description: "RFC 3339 time; a bare date includes that whole day."),
                "user": .string(required: false, description: "Admins: a username or user id."),
                "feedback": .boolean(required: false),
            ])),
            responses: [200: OpenAPI.Response(
                description: "The file, in the asked format.",
                headers: ["Content-Disposition": .init(OpenAPI.Header(schema: .string, description: "`attachment; filename=\"…\"`", required: true))],
                content: [
                    .json: .content(.fragment(description: "`json`: an object with the export's metadata and chats; `alpaca`: an array of instruction records.")),
                    .other("application/x-ndjson"): .content(.string),
                    .csv: .content(.string),
                    .txt: .content(.string),
                    .other("text/markdown"): .content(.string),
                    .pdf: .content(.string(contentMediaType: .pdf)),
                ])],
            errors: [.notFound]),
    ]
}
