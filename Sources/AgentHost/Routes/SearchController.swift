import ChatBridge
import Foundation
import Hummingbird

/// `GET /api/chats/search/`: full-text search over the caller's chats (every chat, for admins).
struct SearchController {
    let chats: any ChatStore
    let accounts: any AccountStore
    let search: any ChatSearchStore

    struct Results: ResponseEncodable {
        var results: [Result]
        @NullEncoded var nextCursor: String?
    }

    struct Result: Encodable, Sendable {
        var dbId: Int64
        var workspace: String
        @NullEncoded var thread: String?
        @NullEncoded var userId: Int64?
        var prompt: String
        var response: String
        var promptSnippet: String
        var responseSnippet: String
        var status: Chat.Status
        var createdAt: Date
        /// bm25 relevance, larger is better (FTS5's rank negated).
        var score: Double
    }

    func addRoutes(to group: RouterGroup<AppRequestContext>) {
        group.get("search", use: handle)
    }

    @Sendable func handle(_ request: Request, context: AppRequestContext) async throws -> Results {
        let principal = try context.identity()
        let query = QueryParameters(request)
        guard let text = query.text("q") else { throw APIError.validation("Query parameter 'q' is required.") }
        var field = SearchField.both
        if let value = try query.string("in") {
            guard let parsed = SearchField(rawValue: value) else {
                throw APIError.validation("Query parameter 'in' must be prompt, response or both; got '\(value)'.")
            }
            field = parsed
        }
        let filter = try await ChatFilterResolver(chats: chats, accounts: accounts).resolve(
            workspace: query.string("workspace"), thread: query.string("thread"), user: query.string("user"),
            principal: principal, action: "search other users' chats")
        let search = ChatSearchQuery(
            text: text, field: field, workspaceId: filter.workspaceId, threadId: filter.threadId, userId: filter.userId,
            from: try query.date("from"), to: try query.date("to", endOfRange: true),
            limit: try query.int("limit", default: 20, range: 1...100),
            after: try query.string("cursor").map(SearchCursor.decode))
        let page = try await self.search.search(search, viewer: principal.viewer)
        return Results(
            results: page.hits.map { hit in
                Result(dbId: hit.entry.chat.id ?? 0, workspace: hit.entry.workspaceSlug, thread: hit.entry.threadSlug,
                       userId: hit.entry.chat.userId, prompt: hit.entry.chat.prompt, response: hit.entry.chat.response,
                       promptSnippet: hit.promptSnippet, responseSnippet: hit.responseSnippet, status: hit.entry.chat.status,
                       createdAt: hit.entry.chat.createdAt, score: hit.score)
            },
            nextCursor: page.next.map(SearchCursor.encode))
    }
}

/// Opaque search cursors: how many hits came before, and the newest chat id of the first page.
enum SearchCursor {
    static func encode(_ position: SearchPosition) -> String {
        Base64URL.encode(Array("s2:\(position.offset):\(position.maxId)".utf8))
    }

    static func decode(_ cursor: String) throws -> SearchPosition {
        let invalid = APIError.validation("The cursor is not valid; pass the next_cursor of a previous page unchanged.")
        guard let data = Base64URL.decode(cursor), let text = String(data: data, encoding: .utf8) else { throw invalid }
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0] == "s2", let offset = Int(parts[1]), let maxId = Int64(parts[2]),
              offset > 0, maxId >= 0
        else { throw invalid }
        return SearchPosition(offset: offset, maxId: maxId)
    }
}

/// The workspace, thread and user filters of search and export, checked and turned into ids.
struct ChatFilterResolver {
    let chats: any ChatStore
    let accounts: any AccountStore

    struct Resolved {
        var workspaceId: Int64?
        var threadId: Int64?
        var userId: Int64?
        /// The filters as given, for the title of an export.
        var labels: [(String, String)] = []
    }

    func resolve(workspace: String?, thread: String?, user: String?, principal: Principal, action: String) async throws -> Resolved {
        var resolved = Resolved()
        if let slug = workspace {
            let found = try await chats.requireWorkspace(slug: slug)
            resolved.workspaceId = found.id
            resolved.labels.append(("workspace", slug))
            if let thread {
                resolved.threadId = try await chats.requireThread(slug: thread, in: found, viewer: principal.viewer)?.id
                resolved.labels.append(("thread", thread))
            }
        } else if thread != nil {
            throw APIError.validation("'thread' needs 'workspace' too: thread slugs are per workspace.")
        }
        if let user {
            try principal.requireAdmin(action)
            let found = try await resolveUser(user)
            resolved.userId = found.id
            resolved.labels.append(("user", found.username))
        } else if !principal.isAdmin, let username = principal.username {
            resolved.labels.append(("user", username))
        }
        return resolved
    }

    /// A user named by username or numeric id.
    func resolveUser(_ reference: String) async throws -> User {
        if let id = Int64(reference), let user = try await accounts.user(id: id) { return user }
        if let user = try await accounts.user(username: reference) { return user }
        throw APIError.notFound("User '\(reference)'")
    }
}
