import ChatBridge
import Foundation
import Hummingbird
import NIOCore

/// Documents of a workspace (PROTOCOL §3). Uploads are multipart (`file` part, optional `name` and
/// `mime` fields) or JSON `{name, mime, content_base64}`. A user lists, reads and changes their own
/// documents, administrators all of them; a user's own documents ground their answers.
struct DocumentsController {
    let chats: any ChatStore
    let documents: any DocumentStore
    let ingestor: DocumentIngestor

    struct UploadRequest: Decodable {
        var name: String
        var mime: String?
        var contentBase64: String
    }

    struct PatchRequest: Decodable {
        var pinned: Bool?
    }

    struct DocumentList: ResponseEncodable {
        var documents: [DocumentRepresentation]
    }

    func addRoutes(to group: RouterGroup<AppRequestContext>) {
        group.get(":slug/documents", use: list)
        group.post(":slug/documents", use: upload)
        group.get(":slug/documents/:id", use: show)
        group.patch(":slug/documents/:id", use: update)
        group.delete(":slug/documents/:id", use: delete)
    }

    @Sendable func list(_ request: Request, context: AppRequestContext) async throws -> DocumentList {
        let principal = try context.identity()
        let workspace = try await workspace(context)
        let found = try await documents.documents(workspaceId: workspace.id!, viewer: principal.viewer)
        return DocumentList(documents: found.map { DocumentRepresentation($0, workspace: workspace.slug, includeText: false) })
    }

    @Sendable func upload(_ request: Request, context: AppRequestContext) async throws -> EditedResponse<DocumentRepresentation> {
        let principal = try context.identity()
        let workspace = try await workspace(context)
        let contentType = request.headers[.contentType] ?? ""
        let maxDocumentBytes = ingestor.extractor.maxBytes
        let limit = Self.uploadLimit(bodyLimit: context.maxUploadSize, maxDocumentBytes: maxDocumentBytes)
        let tooLarge = APIError(.tooLarge, "The upload is larger than \(limit) bytes. A document may be at most \(maxDocumentBytes) bytes "
            + "(\(Self.base64Length(maxDocumentBytes)) bytes of base64 in the JSON form).")
        // A declared length is refused before reading; a chunked body when it passes the limit.
        if let length = request.headers[.contentLength].flatMap(Int.init), length > limit { throw tooLarge }
        let body: ByteBuffer
        do {
            body = try await request.body.collect(upTo: limit)
        } catch is NIOTooManyBytesError {
            throw tooLarge
        }
        let name: String
        let mime: String?
        let data: [UInt8]
        if contentType.lowercased().hasPrefix("multipart/form-data") {
            let parts = try MultipartForm.parse(Array(body.readableBytesView), contentType: contentType)
            guard let file = parts.first(where: { $0.filename != nil }) ?? parts.first(where: { $0.name == "file" }) else {
                throw APIError.validation("The multipart upload has no file; send the document in a part named 'file' with a filename.")
            }
            let field = { (key: String) in parts.first { $0.name == key && $0.filename == nil }.map { String(decoding: $0.data, as: UTF8.self) } }
            name = field("name") ?? file.filename.map(MultipartForm.baseName) ?? ""
            mime = field("mime") ?? file.contentType
            data = file.data
        } else {
            let upload = try APICoding.decode(UploadRequest.self, from: body.readableBytesView)
            var encoded = Substring(upload.contentBase64)
            if encoded.hasPrefix("data:"), let comma = encoded.firstIndex(of: ",") { encoded = encoded[encoded.index(after: comma)...] }
            guard let decoded = Data(base64Encoded: String(encoded), options: .ignoreUnknownCharacters) else {
                throw APIError.validation("Field 'content_base64' is not valid base64.")
            }
            name = upload.name
            mime = upload.mime
            data = Array(decoded)
        }
        let document = try await ingestor.ingest(workspaceId: workspace.id!, userId: principal.userId, name: name, mime: mime, data: data)
        context.logger.info("document added", metadata: [
            "workspace": "\(workspace.slug)", "document_id": "\(document.id!)", "mime": "\(document.mime)",
            "size": "\(document.size)", "chunks": "\(document.chunkCount)",
        ])
        return EditedResponse(status: .created, response: DocumentRepresentation(document, workspace: workspace.slug, includeText: false))
    }

    @Sendable func show(_ request: Request, context: AppRequestContext) async throws -> DocumentRepresentation {
        let principal = try context.identity()
        let workspace = try await workspace(context)
        let id = try documentId(context)
        guard let document = try await documents.document(id: id, workspaceId: workspace.id!, viewer: principal.viewer) else {
            throw APIError.notFound("Document \(id) in workspace '\(workspace.slug)'")
        }
        return DocumentRepresentation(document, workspace: workspace.slug, includeText: true)
    }

    @Sendable func update(_ request: Request, context: AppRequestContext) async throws -> DocumentRepresentation {
        let principal = try context.identity()
        let workspace = try await workspace(context)
        let id = try documentId(context)
        let patch = try await request.decode(as: PatchRequest.self, context: context)
        guard let pinned = patch.pinned else { throw APIError.validation("Missing required field 'pinned' (true or false).") }
        guard let document = try await documents.setPinned(id: id, workspaceId: workspace.id!, pinned: pinned, viewer: principal.viewer) else {
            throw APIError.notFound("Document \(id) in workspace '\(workspace.slug)'")
        }
        return DocumentRepresentation(document, workspace: workspace.slug, includeText: false)
    }

    @Sendable func delete(_ request: Request, context: AppRequestContext) async throws -> Response {
        let principal = try context.identity()
        let workspace = try await workspace(context)
        let id = try documentId(context)
        guard try await documents.deleteDocument(id: id, workspaceId: workspace.id!, viewer: principal.viewer) else {
            throw APIError.notFound("Document \(id) in workspace '\(workspace.slug)'")
        }
        return Response(status: .noContent)
    }

    /// The largest body the upload route reads: the server's body limit, raised so the JSON form of
    /// a document of the largest accepted size fits (base64 is 4/3 of it, plus 64 KiB for the name,
    /// type and JSON around it). Then the document limit, not the body limit, is what refuses a
    /// document, with a message naming it.
    static func uploadLimit(bodyLimit: Int, maxDocumentBytes: Int) -> Int {
        max(bodyLimit, base64Length(maxDocumentBytes) + 64 * 1024)
    }

    /// Whether `request` is a document upload (`POST /api/workspaces/{slug}/documents`), which
    /// applies its own limit, ``uploadLimit(bodyLimit:maxDocumentBytes:)``, to its body: a check of
    /// `Content-Length` against the server-wide body limit must let it through.
    static func isUpload(_ request: Request) -> Bool {
        guard request.method == .post else { return false }
        // Every POST passes here: most are refused without splitting their path.
        let path = request.uri.path
        guard path.hasSuffix("/documents") || path.hasSuffix("/documents/") else { return false }
        let components = path.split(separator: "/")
        return components.count == 4 && components[0] == "api" && components[1] == "workspaces"
            && components[3] == "documents"
    }

    /// Characters of the base64 (padded) of `bytes` bytes.
    static func base64Length(_ bytes: Int) -> Int {
        (bytes + 2) / 3 * 4
    }

    private func workspace(_ context: AppRequestContext) async throws -> Workspace {
        try await chats.requireWorkspace(slug: context.parameters.require("slug"))
    }

    private func documentId(_ context: AppRequestContext) throws -> Int64 {
        let text = try context.parameters.require("id")
        guard let id = Int64(text), id > 0 else { throw APIError.notFound("Document '\(text)'") }
        return id
    }
}

/// A document as the API shows it; `text` only on `GET …/documents/{id}`.
struct DocumentRepresentation: ResponseEncodable {
    var id: Int64
    var workspace: String
    @NullEncoded var userId: Int64?
    var name: String
    var mime: String
    var size: Int
    var pinned: Bool
    var chunks: Int
    var text: String?
    var createdAt: Date
    var updatedAt: Date

    init(_ document: Document, workspace: String, includeText: Bool) {
        id = document.id!
        self.workspace = workspace
        userId = document.userId
        name = document.name
        mime = document.mime
        size = document.size
        pinned = document.pinned
        chunks = document.chunkCount
        text = includeText ? document.text : nil
        createdAt = document.createdAt
        updatedAt = document.updatedAt
    }
}
