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
    /// Matches the snippet query walks, about, rather than seek each hit of a page apart.
    static let snippetWalk = 10_000
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
            // How common each phrase is, from a walk of at most `frequencyWalk` of its newest matches
            // (exact below that): what bm25 needs, without FTS5 counting every match (see FTS5Ranking).
            var rankArguments: StatementArguments = []
            // The density of the rarest phrase's matches among chat ids, to choose the snippets' plan below.
            var density = 1.0
            for phrase in phrases {
                let walk = try Row.fetchOne(db, sql: """
                    SELECT COUNT(*) AS matches, MIN(rowid) AS oldest FROM (
                        SELECT rowid FROM \(table) WHERE \(table) MATCH ? ORDER BY rowid DESC LIMIT \(ChatSearchQuery.frequencyWalk)
                    )
                    """, arguments: [phrase])
                let matches: Int = walk?["matches"] ?? 0
                let oldest: Int64 = walk?["oldest"] ?? 0
                let span = matches < ChatSearchQuery.frequencyWalk ? 0 : max(1, newestId - oldest + 1)
                rankArguments += [matches, span]
                density = min(density, Double(matches) / Double(max(1, span > 0 ? span : newestId)))
            }
            let rankCall = "\(FTS5Ranking.functionName)(\(table)" + String(repeating: ", ?", count: 2 * phrases.count) + ")"
            var filters: [String] = []
            var filterArguments: StatementArguments = []
            ChatFilterSQL.append(workspaceId: query.workspaceId, threadId: query.threadId, userId: query.userId,
                                 from: query.from, to: query.to, viewer: viewer, to: &filters, &filterArguments)
            // Ranks and ids only: snippets are made for the page's rows alone, below. bm25 is computed for the
            // newest `candidateLimit` matches that pass the filters, not all of them: FTS5 walks its index
            // newest-first and stops there, so a word in most chats costs about as much as a rarer one
            // instead of a score and a sort per matching chat (seconds over a million chats).
            let candidates = max(1, query.candidateLimit)
            let pageClause = "ORDER BY rank, id LIMIT \(query.limit + 1) OFFSET \(query.after?.offset ?? 0)"
            // A user's search names the owner in the match, so FTS5 skips other users' chats itself.
            let owner = Self.owner(query, viewer: viewer)
            let candidateMatch = Self.matching(match, owner: owner)
            // Chats still streaming, from their own small index: checking candidates against it reads no
            // chat row (scattered pages of a large table, a read each, for a word's older matches).
            let notStreaming = "NOT IN (SELECT id FROM workspace_chats WHERE status = 'streaming')"
            let sql: String
            let arguments: StatementArguments
            if filters.isEmpty {
                // Nothing to check on the chat rows: the candidates come from the index alone, and only the
                // page's rows are read, below.
                sql = """
                    SELECT id, rank FROM (
                        SELECT rowid AS id, \(rankCall) AS rank FROM \(table)
                        WHERE \(table) MATCH ? AND rowid <= ? ORDER BY rowid DESC LIMIT \(candidates)
                    )
                    WHERE id \(notStreaming)
                    \(pageClause)
                    """
                arguments = rankArguments + [match, maxId]
            } else if owner != nil, Self.ownerIsTheOnlyFilter(query) {
                // Only the owner restricts (a user's own search, the usual case), and the index holds it.
                // `+rowid` keeps the list a filter: as a constraint, FTS5 would seek each of its ids apart.
                sql = """
                    SELECT id, rank FROM (
                        SELECT rowid AS id, \(rankCall) AS rank FROM \(table)
                        WHERE \(table) MATCH ? AND rowid <= ? AND +rowid \(notStreaming)
                        ORDER BY rowid DESC LIMIT \(candidates)
                    )
                    \(pageClause)
                    """
                arguments = rankArguments + [candidateMatch, maxId]
            } else {
                sql = """
                    SELECT id, rank FROM (
                        SELECT f.rowid AS id, \(rankCall) AS rank
                        FROM \(table) f JOIN workspace_chats c ON c.id = f.rowid
                        WHERE \(table) MATCH ? AND f.rowid <= ? AND c.status != 'streaming' AND \(filters.joined(separator: " AND "))
                        ORDER BY f.rowid DESC LIMIT \(candidates)
                    )
                    \(pageClause)
                    """
                arguments = rankArguments + [candidateMatch, maxId] + filterArguments
            }
            let ranked = try Row.fetchAll(db, sql: sql, arguments: arguments).map { row in
                (id: row["id"] as Int64, rank: row["rank"] as Double)
            }
            var next: SearchPosition?
            var hitsPage = ranked
            if hitsPage.count > query.limit {
                hitsPage.removeLast()
                next = SearchPosition(offset: (query.after?.offset ?? 0) + hitsPage.count, maxId: maxId)
            }
            guard !hitsPage.isEmpty else { return ChatSearchPage(hits: [], next: nil) }
            // One query for the page's rows and one for their snippets, not two per hit.
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
            // Control characters mark the matches, so the text can be HTML-escaped before the real markers go in.
            let marks: StatementArguments = [ChatSearchHit.rawStart, ChatSearchHit.rawEnd, ChatSearchHit.ellipsis]
            // `rowid IN (…)` makes FTS5 seek each id anew (for a prefix, expanding it anew: a millisecond
            // each). Walking the matches between the page's oldest and newest ids once is cheaper unless
            // that range holds many (a filtered search's page can spread over many other chats' matches).
            // Without the owner's phrase: FTS5 would seek its long list of rows for each id too (3-4 ms more
            // per page for a user's common word in the sqlite3 CLI).
            let low = ids.min() ?? 0
            let high = ids.max() ?? 0
            let matchesInRange = Double(high - low + 1) * density
            let walkRange = matchesInRange <= Double(ChatSearchQuery.snippetWalk) || phrases.contains { $0.hasSuffix("*") }
            let rangeArguments: StatementArguments = walkRange ? [low, high] : []
            let snippets = try Dictionary(
                Row.fetchAll(db, sql: """
                    SELECT rowid AS id, snippet(\(table), 0, ?, ?, ?, 24) AS prompt_snippet,
                           snippet(\(table), 1, ?, ?, ?, 24) AS response_snippet
                    FROM \(table) WHERE \(table) MATCH ? AND
                    """ + (walkRange ? " rowid BETWEEN ? AND ? AND +rowid IN (\(placeholders))" : " rowid IN (\(placeholders))"),
                    arguments: marks + marks + [match] + rangeArguments + idArguments)
                    .map { row in (row["id"] as Int64, (prompt: row["prompt_snippet"] as String? ?? "", response: row["response_snippet"] as String? ?? "")) },
                uniquingKeysWith: { first, _ in first })
            let hits = hitsPage.compactMap { id, rank -> ChatSearchHit? in
                guard let entry = entries[id], let snippet = snippets[id] else { return nil }
                return ChatSearchHit(entry: entry, promptSnippet: ChatSearchHit.highlighted(snippet.prompt),
                                     responseSnippet: ChatSearchHit.highlighted(snippet.response), rank: rank)
            }
            return ChatSearchPage(hits: hits, next: next)
        }
    }
}
