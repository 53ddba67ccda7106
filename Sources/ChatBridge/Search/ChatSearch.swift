import Foundation
import GRDB

/// Which side of a chat a search looks in.
public enum SearchField: String, Sendable, CaseIterable {
    case prompt
    case response
    case both

    /// The index columns the words are looked for in: never the owner column, so a query `7` does not
    /// find every chat of user 7.
    var columns: [String] {
        switch self {
        case .prompt: ["prompt"]
        case .response: ["response"]
        case .both: AppDatabase.chatSearchTextColumns
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
    /// How many of the newest matching chats are ranked; older matches are reached by narrowing the
    /// query (more words, `from`/`to`, a workspace).
    public static let rankedCandidates = 2_000
    /// Matches of each phrase walked to learn how common it is; rarer phrases are counted exactly.
    public static let frequencyWalk = 2_000
    /// ``rankedCandidates`` unless a test or a caller needs another bound.
    public var candidateLimit = Self.rankedCandidates

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
    /// HTML-escaped excerpts with matches wrapped in ``ChatSearchHit/highlightStart`` and ``ChatSearchHit/highlightEnd``.
    public var promptSnippet: String
    public var responseSnippet: String
    /// FTS5's bm25 rank: smaller is better.
    public var rank: Double
    /// Relevance for clients: `-rank`, larger is better.
    public var score: Double { -rank }

    public static let highlightStart = "<mark>"
    public static let highlightEnd = "</mark>"
    public static let ellipsis = "…"
    static let rawStart = "\u{1}"
    static let rawEnd = "\u{2}"

    /// A snippet safe to put in HTML: the chat's text escaped (`&`, `<`, `>`, `"`, `'`), so only the
    /// highlight markers are markup and a user who typed `<mark>` or `<script>` sees it as text.
    static func highlighted(_ raw: String) -> String {
        var result = ""
        result.reserveCapacity(raw.utf8.count + 32)
        for character in raw {
            switch character {
            case "&": result += "&amp;"
            case "<": result += "&lt;"
            case ">": result += "&gt;"
            case "\"": result += "&quot;"
            case "'": result += "&#39;"
            case "\u{1}": result += highlightStart
            case "\u{2}": result += highlightEnd
            default: result.append(character)
            }
        }
        return result
    }
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
    /// The one user whose chats a search is restricted to (a user's own search, or an administrator's
    /// `user_id` filter), else `nil`; a viewer without a user sees ownerless chats, which the index
    /// cannot name.
    static func owner(_ query: ChatSearchQuery, viewer: Viewer) -> Int64? {
        viewer.isAdmin ? query.userId : viewer.userId
    }

    /// Whether the owner is a search's only filter: then the candidates come from the index alone.
    static func ownerIsTheOnlyFilter(_ query: ChatSearchQuery) -> Bool {
        query.workspaceId == nil && query.threadId == nil && query.from == nil && query.to == nil
    }

    /// `match` restricted to `owner`'s chats by the owner token the index holds for each chat (see the
    /// `search_v3_owner_tokens` migration). It comes after the query's phrases, so the rank function,
    /// which scores the phrases it is given counts for, ignores it.
    static func matching(_ match: String, owner: Int64?) -> String {
        guard let owner else { return match }
        return "(" + match + ") AND user_id : \"\(owner)\""
    }

    public func search(_ query: ChatSearchQuery, viewer: Viewer) async throws -> ChatSearchPage {
        let phrases = SearchQueryParser.phrases(query.text, columns: query.field.columns)
        guard !phrases.isEmpty else { return ChatSearchPage(hits: [], next: nil) }
        let match = phrases.joined(separator: " AND ")
        let table = AppDatabase.chatSearchTable
        return try await writer.read { db in
            let newestId = try Int64.fetchOne(db, sql: "SELECT IFNULL(MAX(id), 0) FROM workspace_chats") ?? 0
            let maxId = query.after?.maxId ?? newestId
            var filters: [String] = []
            var filterArguments: StatementArguments = []
            ChatFilterSQL.append(workspaceId: query.workspaceId, threadId: query.threadId, userId: query.userId,
                                 from: query.from, to: query.to, viewer: viewer, to: &filters, &filterArguments)
            let candidates = max(1, query.candidateLimit)
            // How common each phrase is, from a walk of at most `frequencyWalk` of its newest matches
            // (exact below that): what bm25 needs, without FTS5 counting every match (see FTS5Ranking).
            var rankArguments: StatementArguments = []
            // The fewest matches any phrase has (exact below `frequencyWalk`), to choose a plan below.
            var fewestMatches = Int.max
            func walked(matches: Int, oldest: Int64) -> (matches: Int, span: Int64) {
                let span = matches < ChatSearchQuery.frequencyWalk ? 0 : max(1, newestId - oldest + 1)
                rankArguments += [matches, span]
                fewestMatches = min(fewestMatches, matches)
                return (matches, span)
            }
            // The first page of a one-phrase search without filters ranks the same rows its frequency walk
            // reads (the newest matches): one walk gives both, with each row's rank made in Swift from its
            // parts by the rank function's own arithmetic, where walking the phrase twice was a fifth of a
            // phrase search.
            var ranked: [(id: Int64, rank: Double)] = []
            if phrases.count == 1, filters.isEmpty, query.after == nil {
                let part = "\(FTS5Ranking.partsFunctionName)(\(table), "
                // The table's size once (any matching row gives it), then each row's part through a cursor
                // read by position: GRDB's lookups by column name lowercase the name for every row.
                var walk: [(id: Int64, parts: Int64)] = []
                walk.reserveCapacity(max(candidates, ChatSearchQuery.frequencyWalk))
                let rows = try db.cachedStatement(sql: """
                    SELECT rowid, \(part)0) FROM \(table) WHERE \(table) MATCH ? ORDER BY rowid DESC LIMIT ?
                    """)
                let cursor = try Row.fetchCursor(rows, arguments: [match, max(candidates, ChatSearchQuery.frequencyWalk)])
                while let row = try cursor.next() { walk.append((row[0], row[1])) }
                let sizes = try Row.fetchOne(db, sql: "SELECT \(part)1), \(part)2) FROM \(table) WHERE \(table) MATCH ? LIMIT 1",
                                             arguments: [match])
                let tableRows: Int64 = sizes?[0] ?? 0
                let tableTokens: Int64 = sizes?[1] ?? 0
                let sample = walk.prefix(ChatSearchQuery.frequencyWalk)
                let phrase = walked(matches: sample.count, oldest: sample.last?.id ?? 0)
                let streaming = Set(try Int64.fetchAll(db, sql: "SELECT id FROM workspace_chats WHERE status = 'streaming'"))
                ranked = Array(walk.prefix(candidates).compactMap { id, parts -> (id: Int64, rank: Double)? in
                    guard !streaming.contains(id) else { return nil }
                    return (id, FTS5Ranking.rank(frequency: parts >> 32, rowTokens: Int32(truncatingIfNeeded: parts), rows: tableRows,
                                                 totalTokens: tableTokens, matches: Double(phrase.matches), span: Double(phrase.span)))
                }.sorted { $0.rank != $1.rank ? $0.rank < $1.rank : $0.id < $1.id }.prefix(query.limit + 1))
            } else {
                for phrase in phrases {
                    let walk = try Row.fetchOne(db, sql: """
                        SELECT COUNT(*) AS matches, MIN(rowid) AS oldest FROM (
                            SELECT rowid FROM \(table) WHERE \(table) MATCH ? ORDER BY rowid DESC LIMIT \(ChatSearchQuery.frequencyWalk)
                        )
                        """, arguments: [phrase])
                    _ = walked(matches: walk?["matches"] ?? 0, oldest: walk?["oldest"] ?? 0)
                }
                ranked = try Self.ranked(db, query: query, viewer: viewer, match: match, phrases: phrases.count, filters: filters,
                                         filterArguments: filterArguments, rankArguments: rankArguments,
                                         fewestMatches: fewestMatches, maxId: maxId)
            }
            let owner = Self.owner(query, viewer: viewer)
            var next: SearchPosition?
            var hitsPage = ranked
            if hitsPage.count > query.limit {
                hitsPage.removeLast()
                next = SearchPosition(offset: (query.after?.offset ?? 0) + hitsPage.count, maxId: maxId)
            }
            guard !hitsPage.isEmpty else { return ChatSearchPage(hits: [], next: nil) }
            // One query for the page's rows, not one per hit.
            let ids = hitsPage.map(\.id)
            let placeholders = Array(repeating: "?", count: ids.count).joined(separator: ", ")
            let idArguments = StatementArguments(ids)
            // The owner is checked on the page's rows too: the index's owner tokens decide the candidates,
            // and a row must never reach another user through them.
            let entries = try Dictionary(
                Row.fetchAll(db, sql: ChatFilterSQL.selectEntries + " WHERE c.id IN (\(placeholders))" + (owner == nil ? "" : " AND c.user_id = ?"),
                             arguments: idArguments + (owner.map { [$0] } ?? []))
                    .map { row in (row[0] as Int64, try ChatFilterSQL.entry(row)) },
                uniquingKeysWith: { first, _ in first })
            // The excerpts from the page's own text: no second trip through the index (see SnippetMaker).
            let snippets = try SnippetMaker(db, terms: SearchQueryParser.terms(query.text))
            let columns = query.field.columns
            let hits = hitsPage.compactMap { id, rank -> ChatSearchHit? in
                guard let entry = entries[id] else { return nil }
                let prompt = snippets.snippet(of: entry.chat.prompt, marksMatches: columns.contains("prompt"))
                let response = snippets.snippet(of: entry.chat.response, marksMatches: columns.contains("response"))
                return ChatSearchHit(entry: entry, promptSnippet: ChatSearchHit.highlighted(prompt),
                                     responseSnippet: ChatSearchHit.highlighted(response), rank: rank)
            }
            return ChatSearchPage(hits: hits, next: next)
        }
    }
}
