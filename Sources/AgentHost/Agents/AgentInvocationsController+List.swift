import ChatBridge
import Foundation
import Hummingbird

extension AgentInvocationsController {
    /// `GET /api/agent/invocations/`: the caller's runs (everyone's for admins), newest first.
    /// Query: `workspace`, `thread` (needs `workspace`), `status`, `limit` (1–500, default 50),
    /// `cursor` → `{"invocations": [...], "next_cursor": str|null}`, paged like `GET /api/chats/`.
    @Sendable func list(_ request: Request, context: AppRequestContext) async throws -> Response {
        let principal = try context.identity()
        let query = QueryParameters(request)
        var filter = InvocationListQuery(limit: try query.int("limit", default: 50, range: 1...500))
        (filter.workspaceId, filter.threadId) = try await chats.listScope(query, viewer: principal.viewer)
        if let status = try query.string("status") {
            guard let parsed = AgentInvocation.Status(rawValue: status) else {
                let known = AgentInvocation.Status.allCases.map(\.rawValue).joined(separator: ", ")
                throw APIError.validation("Unknown status '\(status)'; use one of \(known).")
            }
            filter.status = parsed
        }
        filter.before = try query.string("cursor").map(InvocationCursor.decode)
        let page = try await invocations.invocations(filter, viewer: principal.viewer)
        let json: JSONValue = [
            "invocations": .array(page.invocations.map { entry in
                InvocationRepresentation.summary(entry, live: engine.registry.lookup(entry.invocation.id)?.run)
            }),
            "next_cursor": page.next.map { .string(InvocationCursor.encode($0)) } ?? .null,
        ]
        return Response(status: .ok, headers: [.contentType: "application/json; charset=utf-8"],
                        body: .init(byteBuffer: ByteBuffer(bytes: json.serialized())))
    }
}

/// The opaque `next_cursor` of the invocation list: the last run's creation time (milliseconds)
/// and id, versioned like the chat list's cursor.
enum InvocationCursor {
    static func encode(_ position: InvocationListPosition) -> String {
        let milliseconds = Int64((position.createdAt.timeIntervalSince1970 * 1000).rounded())
        return Base64URL.encode(Array("i1:\(milliseconds):\(position.id)".utf8))
    }

    static func decode(_ cursor: String) throws -> InvocationListPosition {
        guard let data = Base64URL.decode(cursor), let text = String(data: data, encoding: .utf8), text.hasPrefix("i1:") else {
            throw invalid
        }
        let parts = text.dropFirst(3).split(separator: ":", maxSplits: 1)
        // Times before 1970 or after 9999 never come from a page: the PostgreSQL driver traps on dates
        // some 292,000 years out, and a forged cursor must get a 400, not stop the process.
        guard parts.count == 2, let milliseconds = Int64(parts[0]), (0...latestMilliseconds).contains(milliseconds), !parts[1].isEmpty
        else { throw invalid }
        return InvocationListPosition(createdAt: Date(timeIntervalSince1970: Double(milliseconds) / 1000), id: String(parts[1]))
    }

    /// 9999-12-31T23:59:59.999Z.
    private static let latestMilliseconds: Int64 = 253_402_300_799_999

    private static var invalid: APIError {
        APIError.validation("The cursor is not valid; pass the next_cursor of a previous page unchanged.")
    }
}

extension InvocationRepresentation {
    /// One row of the list: what a run inspector needs to pick a run, without its step log.
    static func summary(_ entry: InvocationEntry, live: LiveRun?) -> JSONValue {
        let full = json(entry.invocation, steps: [], live: live)
        guard case .object(var object) = full else { return full }
        object["step_log"] = nil
        object["client_tools"] = nil
        object["workspace"] = .string(entry.workspaceSlug)
        object["thread"] = entry.threadSlug.map(JSONValue.string) ?? .null
        return .object(object)
    }
}
