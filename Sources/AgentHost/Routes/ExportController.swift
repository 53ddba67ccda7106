import ChatBridge
import Foundation
import Hummingbird

/// `POST /api/chats/export/`: the caller's chats (every chat, for admins) as a streamed file.
struct ExportController {
    let chats: any ChatStore
    let accounts: any AccountStore
    let source: any ChatExportSource

    struct ExportRequest: Decodable {
        var format: String
        var workspace: String?
        var thread: String?
        /// RFC 3339 times; a bare `YYYY-MM-DD` `to` includes that whole day.
        var from: String?
        var to: String?
        var user: String?
        var feedback: Bool?
    }

    func addRoutes(to group: RouterGroup<AppRequestContext>) {
        group.post("export", use: handle)
    }

    @Sendable func handle(_ request: Request, context: AppRequestContext) async throws -> Response {
        let principal = try context.identity()
        let body = try await request.decode(as: ExportRequest.self, context: context)
        guard let format = ExportFormat(rawValue: body.format.lowercased()) else {
            throw APIError.validation("Field 'format' must be one of \(ExportFormat.allCases.map(\.rawValue).joined(separator: ", ")); got '\(body.format)'.")
        }
        let resolved = try await ChatFilterResolver(chats: chats, accounts: accounts).resolve(
            workspace: body.workspace, thread: body.thread, user: body.user, principal: principal, action: "export other users' chats")
        let filter = ExportFilter(workspaceId: resolved.workspaceId, threadId: resolved.threadId, userId: resolved.userId,
                                  from: try Self.time(body.from, field: "from", parse: Timestamp.date),
                                  to: try Self.time(body.to, field: "to", parse: Timestamp.endDate), feedback: body.feedback)
        let now = Date()
        let metadata = ExportMetadata(generatedAt: now, filters: Self.labels(resolved.labels, filter: filter))
        let exporter = ChatExporter(source: source)
        let viewer = principal.viewer
        // Counted before the 200 goes out, so a failing database is a §1 error, not a cut file.
        let total = try await source.exportCount(filter, viewer: viewer)
        return Response(
            status: .ok,
            headers: [
                .contentType: format.contentType,
                .contentDisposition: "attachment; filename=\"\(format.fileName(date: now))\"",
                .cacheControl: "no-store",
            ],
            body: ResponseBody { writer in
                try await exporter.export(format: format, filter: filter, viewer: viewer, metadata: metadata, total: total) { bytes in
                    try await writer.write(ByteBuffer(bytes: bytes))
                }
                try await writer.finish(nil)
            })
    }

    private static func time(_ text: String?, field: String, parse: (String) -> Date?) throws -> Date? {
        guard let text else { return nil }
        guard let date = parse(text) else {
            throw APIError.validation("Field '\(field)' must be an RFC 3339 time such as 2026-01-31T12:00:00Z or a date such as 2026-01-31; got '\(text)'.")
        }
        return date
    }

    /// The filters as a title page shows them.
    static func labels(_ base: [(String, String)], filter: ExportFilter) -> [(String, String)] {
        var labels = base
        if let from = filter.from { labels.append(("from", Timestamp.string(from: from))) }
        if let to = filter.to { labels.append(("to", Timestamp.string(from: to))) }
        if let feedback = filter.feedback { labels.append(("feedback", feedback ? "true" : "false")) }
        return labels
    }
}
