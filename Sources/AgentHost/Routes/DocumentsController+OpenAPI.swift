import OpenAPIKit

extension DocumentsController {
    static let documentId = OpenAPI.Parameter.path("id", "The document's id.", schema: .integer(format: .int64))

    static let openAPIOperations: [APIOperation] = [
        APIOperation(.get, "/api/workspaces/{slug}/documents", id: "listDocuments", tag: "Documents",
                     summary: "List the caller's documents of a workspace (every one, for admins)",
                     parameters: [WorkspacesController.slug],
                     responses: [200: .json("The documents, without their text.", .object(properties: ["documents": .array(items: APISchemas.ref("Document"))]))],
                     errors: [.notFound]),
        APIOperation(
            .post, "/api/workspaces/{slug}/documents", id: "uploadDocument", tag: "Documents", summary: "Upload a document",
            description: "Multipart (a `file` part with a filename, optional `name` and `mime` fields) or JSON. The text is "
                + "extracted, chunked and indexed (and embedded when an embeddings provider is configured). The body limit is "
                + "raised for this route so the JSON form of the largest accepted document fits.",
            parameters: [WorkspacesController.slug],
            body: OpenAPI.Request(content: [
                .json: .content(.object(properties: [
                    "name": .string, "mime": .string(required: false),
                    "content_base64": .string(description: "The file, base64 (a `data:` URL prefix is accepted)."),
                ])),
                .multipartForm: .content(.object(properties: [
                    "file": .string(contentMediaType: .other("application/octet-stream")),
                    "name": .string(required: false), "mime": .string(required: false),
                ])),
            ], required: true),
            responses: [201: .json("The stored document, without its text.", APISchemas.ref("Document"))],
            errors: [.notFound]),
        APIOperation(.get, "/api/workspaces/{slug}/documents/{id}", id: "getDocument", tag: "Documents",
                     summary: "A document with its extracted text", parameters: [WorkspacesController.slug, documentId],
                     responses: [200: .json("The document and its `text`.", APISchemas.ref("Document"))], errors: [.notFound]),
        APIOperation(.patch, "/api/workspaces/{slug}/documents/{id}", id: "updateDocument", tag: "Documents",
                     summary: "Pin or unpin a document", description: "A pinned document's text always goes into the context.",
                     parameters: [WorkspacesController.slug, documentId],
                     body: .json(.object(properties: ["pinned": .boolean])),
                     responses: [200: .json("The changed document.", APISchemas.ref("Document"))], errors: [.notFound]),
        APIOperation(.delete, "/api/workspaces/{slug}/documents/{id}", id: "deleteDocument", tag: "Documents",
                     summary: "Remove a document with its chunks", parameters: [WorkspacesController.slug, documentId],
                     responses: [204: .empty("Removed.")], errors: [.notFound]),
    ]
}
