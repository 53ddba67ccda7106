import Foundation
import GRDB

/// Which side of a chat a search looks in.
public enum SearchField: String, Sendable, CaseIterable {
    case prompt
    case response
    case both

    var columns: [String] {
        switch self {
        case .prompt: ["prompt"]
        case .response: ["response"]
        case .both: []
        }
    }
}

/// Where a page of search results continues: after the first `offset` hits among chats with ids up to
/// `maxId` (the newest chat when the first page was read).
///
/// Not a (rank, id) keyset: bm25 scores depend on corpus-wide statistics (document count, average
/// length), so every new chat shifts every score and a rank-valued cursor would skip or repeat hits.
/// Fixing the set of candidate chats keeps the order, and so the pages, stable while chats are added;
/// the sort is over every match anyway, so an offset costs nothing more than a keyset would.
public struct SearchPosition: Sendable, Equatable {
    public var offset: Int
    public var maxId: Int64

    public init(offset: Int, maxId: Int64) {
        self.offset = offset
        self.maxId = maxId
    }
}

/// A full-text search over chats (`GET /api/chats/search/`).
public struct ChatSearchQuery: Sendable, Equatable {
    public var text: String
    public var field: SearchField
    public var workspaceId: Int64?
    public var threadId: Int64?
    public var userId: Int64?
    public var from: Date?
    public var to: Date?
    public var limit: Int
    public var after: SearchPosition?

    public init(
        text: String, field: SearchField = .both, workspaceId: Int64? = nil, threadId: Int64? = nil, userId: Int64? = nil,
        from: Date? = nil, to: Date? = nil, limit: Int = 20, after: SearchPosition? = nil
    ) {
        self.text = text
        self.field = field
        self.workspaceId = workspaceId
        self.threadId = threadId
        self.userId = userId
        self.from = from
        self.to = to
        self.limit = limit
        self.after = after
    }
}

/// One matching chat with highlighted excerpts.
public struct ChatSearchHit: Sendable, Equatable {
    public var entry: ChatEntry
    /// Excerpts with matches wrapped in ``ChatSearchHit/highlightStart`` and ``ChatSearchHit/highlightEnd``.
    public var promptSnippet: String
    public var responseSnippet: String
    /// FTS5's bm25 rank: smaller is better.
    public var rank: Double
    /// Relevance for clients: `-rank`, larger is better.
    public var score: Double { -rank }

    public static let highlightStart = "<mark>"
    public static let highlightEnd = "</mark>"
    public static let ellipsis = "…"
}

/// One page of hits, best first, with where the next page starts.
public struct ChatSearchPage: Sendable, Equatable {
    public var hits: [ChatSearchHit]
    public var next: SearchPosition?
}

/// Full-text search over chats.
public protocol ChatSearchStore: Sendable {
    /// The viewer's (every chat, for admins) finished chats matching `query`, best first.
    func search(_ query: ChatSearchQuery, viewer: Viewer) async throws -> ChatSearchPage
}

extension SQLiteStore: ChatSearchStore {
    public func search(_ query: ChatSearchQuery, viewer: Viewer) async throws -> ChatSearchPage {
        guard let match = SearchQueryParser.matchExpression(query.text, columns: query.field.columns) else {
            return ChatSearchPage(hits: [], next: nil)
        }
        let table = AppDatabase.chatSearchTable
        return try await writer.read { db in
            let maxId = try query.after?.maxId ?? Int64.fetchOne(db, sql: "SELECT IFNULL(MAX(id), 0) FROM workspace_chats") ?? 0
            // The first argument is the MATCH of the subquery; the rest belong to the conditions.
            var conditions = ["c.id <= ?", "c.status != 'streaming'"]
            var arguments: StatementArguments = [match, maxId]
            ChatFilterSQL.append(workspaceId: query.workspaceId, threadId: query.threadId, userId: query.userId,
                                 from: query.from, to: query.to, viewer: viewer, to: &conditions, &arguments)
            // Ranks and ids only: snippets are made for the page's rows alone, below.
            let sql = """
                SELECT c.id AS id, f.rank AS rank
                FROM (SELECT rowid, bm25(\(table)) AS rank FROM \(table) WHERE \(table) MATCH ?) f
                JOIN workspace_chats c ON c.id = f.rowid
                WHERE \(conditions.joined(separator: " AND "))
                ORDER BY f.rank, c.id
                LIMIT \(query.limit + 1) OFFSET \(query.after?.offset ?? 0)
                """
            let ranked = try Row.fetchAll(db, sql: sql, arguments: arguments).map { row in
                (id: row["id"] as Int64, rank: row["rank"] as Double)
            }
            var next: SearchPosition?
            var page = ranked
            if page.count > query.limit {
                page.removeLast()
                next = SearchPosition(offset: (query.after?.offset ?? 0) + page.count, maxId: maxId)
            }
            let snippetSQL = """
                SELECT snippet(\(table), 0, ?, ?, ?, 24) AS prompt_snippet,
                       snippet(\(table), 1, ?, ?, ?, 24) AS response_snippet
                FROM \(table) WHERE \(table) MATCH ? AND rowid = ?
                """
            let marks: StatementArguments = [ChatSearchHit.highlightStart, ChatSearchHit.highlightEnd, ChatSearchHit.ellipsis]
            var hits: [ChatSearchHit] = []
            hits.reserveCapacity(page.count)
            for (id, rank) in page {
                guard let entry = try ChatFilterSQL.entry(id: id, db: db),
                      let snippets = try Row.fetchOne(db, sql: snippetSQL, arguments: marks + marks + [match, id])
                else { continue }
                hits.append(ChatSearchHit(
                    entry: entry, promptSnippet: snippets["prompt_snippet"] ?? "", responseSnippet: snippets["response_snippet"] ?? "",
                    rank: rank))
            }
            return ChatSearchPage(hits: hits, next: next)
        }
    }
}
