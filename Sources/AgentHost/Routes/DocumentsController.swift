import ChatBridge
import Foundation
import Hummingbird

/// Documents of a workspace (PROTOCOL §3). Uploads are multipart (`file` part, optional `name` and
/// `mime` fields) or JSON `{name, mime, content_base64}`. A user lists, reads and changes their own
/// documents, administrators all of them; every document of the workspace grounds its answers.
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
        let body = try await request.body.collect(upTo: context.maxUploadSize)
        let name: String
        let mime: String?
        let data: [UInt8]
        if contentType.lowercased().hasPrefix("multipart/form-data") {
            let parts = try MultipartForm.parse(Array(body.readableBytesView), contentType: contentType)
            guard let file = parts.first(where: { $0.filename != nil }) ?? parts.first(where: { $0.name == "file" }) else {
                throw APIError.validation("The multipart upload has no file; send the document in a part named 'file' with a filename.")
            }
            let field = { (key: String) in parts.first { $0.name == key && $0.filename == nil }.map { String(decoding: $0.data, as: UTF8.self) } }
            name = field("name") ?? file.filename ?? ""
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

/// `multipart/form-data` (RFC 7578): the parts of a body, each with its name, filename, type and bytes.
enum MultipartForm {
    struct Part: Sendable, Equatable {
        var name: String?
        var filename: String?
        var contentType: String?
        var data: [UInt8]
    }

    static func parse(_ body: [UInt8], contentType: String) throws -> [Part] {
        guard let boundary = parameter("boundary", in: contentType), !boundary.isEmpty else {
            throw APIError.validation("A multipart/form-data body needs a boundary parameter in its Content-Type.")
        }
        let delimiter = Array("--\(boundary)".utf8)
        let malformed = APIError.validation("The multipart/form-data body is malformed (boundary '\(boundary)').")
        guard var position = find(delimiter, in: body, from: 0) else { throw malformed }
        var parts: [Part] = []
        while true {
            position += delimiter.count
            // "--" after a delimiter closes the body.
            if body.count >= position + 2, body[position] == UInt8(ascii: "-"), body[position + 1] == UInt8(ascii: "-") { break }
            // Skip transport padding and the CRLF ending the delimiter line.
            guard let lineEnd = find([13, 10], in: body, from: position) else { throw malformed }
            let headerStart = lineEnd + 2
            guard let headerEnd = find([13, 10, 13, 10], in: body, from: headerStart) else { throw malformed }
            let dataStart = headerEnd + 4
            guard let next = find([13, 10] + delimiter, in: body, from: dataStart - 2) else { throw malformed }
            let dataEnd = max(next, dataStart)
            var part = Part(data: Array(body[dataStart..<dataEnd]))
            let headers = String(decoding: body[headerStart..<headerEnd], as: UTF8.self)
            for line in headers.components(separatedBy: "\r\n") {
                guard let colon = line.firstIndex(of: ":") else { continue }
                let field = line[..<colon].trimmingCharacters(in: .whitespaces).lowercased()
                let value = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
                if field == "content-disposition" {
                    part.name = parameter("name", in: value)
                    part.filename = parameter("filename", in: value)
                } else if field == "content-type" {
                    part.contentType = value
                }
            }
            parts.append(part)
            position = next + 2
        }
        return parts
    }

    /// A `key=value` or `key="value"` parameter of a header value.
    static func parameter(_ key: String, in header: String) -> String? {
        for item in header.split(separator: ";").dropFirst() {
            let pair = item.trimmingCharacters(in: .whitespaces)
            guard let equals = pair.firstIndex(of: "="), pair[..<equals].lowercased() == key else { continue }
            var value = String(pair[pair.index(after: equals)...])
            if value.count >= 2, value.hasPrefix("\""), value.hasSuffix("\"") {
                value = String(value.dropFirst().dropLast()).replacingOccurrences(of: "\\\"", with: "\"")
            }
            return value
        }
        return nil
    }

    static func find(_ needle: [UInt8], in haystack: [UInt8], from start: Int) -> Int? {
        guard !needle.isEmpty, haystack.count >= needle.count, start <= haystack.count - needle.count else { return nil }
        let first = needle[0]
        var index = max(start, 0)
        while index <= haystack.count - needle.count {
            if haystack[index] == first {
                var matched = true
                for offset in 1..<needle.count where haystack[index + offset] != needle[offset] {
                    matched = false
                    break
                }
                if matched { return index }
            }
            index += 1
        }
        return nil
    }
}
