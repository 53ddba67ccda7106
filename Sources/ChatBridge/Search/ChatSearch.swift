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
    /// How many of the newest matching chats are ranked; older matches are reached by narrowing the
    /// query (more words, `from`/`to`, a workspace).
    public static let rankedCandidates = 2_000
    /// Matches of each phrase walked to learn how common it is; rarer phrases are counted exactly.
    public static let frequencyWalk = 2_000
    /// The largest window of a user's newest chats a user's search checks matches against (see
    /// `SQLiteStore.ownerCandidates`); past it each match is looked up in the owner index.
    static let ownerWindowLimit = 40_000
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
    /// The one user whose chats a search is restricted to when that is its only filter (a user's own
    /// search, or an administrator's `user_id` filter), else `nil`.
    static func ownerOnlyFilter(_ query: ChatSearchQuery, viewer: Viewer) -> Int64? {
        guard query.workspaceId == nil, query.threadId == nil, query.from == nil, query.to == nil else { return nil }
        return viewer.isAdmin ? query.userId : viewer.userId
    }

    /// The newest `candidates` matches among `owner`'s finished chats up to `maxId`, with their rank.
    ///
    /// The owner's newest matches lie tens of thousands of matches deep when they own a small share of
    /// the chats, and reading each match's row to learn its owner was most of such a search. Instead the
    /// matches are checked against a window of the owner's newest finished chats read from their own
    /// index (`workspace_chats_finished_by_owner`), sized from how common the words are: when the
    /// window yields every candidate, they are exactly the newest (the window holds all the owner's
    /// chats in its id range); else a window four times larger is tried, and past
    /// ``ChatSearchQuery/ownerWindowLimit`` chats each match is looked up in that index instead.
    static func ownerCandidates(
        _ db: Database, owner: Int64, maxId: Int64, candidates: Int, density: Double, matchClause: String, rankCall: String,
        arguments: StatementArguments
    ) throws -> [(id: Int64, rank: Double)] {
        let table = AppDatabase.chatSearchTable
        var window = Int(min(Double(ChatSearchQuery.ownerWindowLimit), (Double(candidates) / max(density, 1e-9) * 1.25).rounded(.up)))
        while window < ChatSearchQuery.ownerWindowLimit {
            guard let low = try Int64.fetchOne(db, sql: """
                SELECT id FROM workspace_chats INDEXED BY workspace_chats_finished_by_owner
                WHERE user_id = ? AND status != 'streaming' AND id <= ? ORDER BY id DESC LIMIT 1 OFFSET ?
                """, arguments: [owner, maxId, window - 1])
            else { break }  // the owner has fewer chats: the lookup below reads them all anyway
            // `+rowid` keeps the IN list a filter: as a constraint, FTS5 would seek each of its ids apart.
            let rows = try Row.fetchAll(db, sql: """
                SELECT rowid AS id, \(rankCall) AS rank FROM \(table)
                WHERE \(matchClause) AND rowid BETWEEN ? AND ? AND +rowid IN (
                    SELECT id FROM workspace_chats INDEXED BY workspace_chats_finished_by_owner
                    WHERE user_id = ? AND status != 'streaming' AND id BETWEEN ? AND ?)
                ORDER BY rowid DESC LIMIT \(candidates)
                """, arguments: arguments + [low, maxId, owner, low, maxId])
            if rows.count == candidates { return rows.map { (id: $0["id"], rank: $0["rank"]) } }
            window *= 4
        }
        return try Row.fetchAll(db, sql: """
            SELECT f.rowid AS id, \(rankCall) AS rank
            FROM \(table) f JOIN workspace_chats c INDEXED BY workspace_chats_finished_by_owner ON c.id = f.rowid
            WHERE \(matchClause) AND f.rowid <= ? AND c.user_id = ? AND c.status != 'streaming'
            ORDER BY f.rowid DESC LIMIT \(candidates)
            """, arguments: arguments + [maxId, owner]).map { (id: $0["id"], rank: $0["rank"]) }
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
            // The fewest matches any phrase has (exact when below `frequencyWalk`), and the density of the
            // rarest phrase's matches among chat ids, to choose plans below.
            var fewestMatches = Int.max
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
                fewestMatches = min(fewestMatches, matches)
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
            let sql: String?
            let arguments: StatementArguments
            var ranked: [(id: Int64, rank: Double)] = []
            if filters.isEmpty {
                // Nothing to check on the chat rows but their status: the candidates come from the index
                // alone, and only the few that are kept are looked up (a million-row table is mostly cold).
                sql = """
                    SELECT f.id AS id, f.rank AS rank FROM (
                        SELECT rowid AS id, \(rankCall) AS rank FROM \(table)
                        WHERE \(table) MATCH ? AND rowid <= ? ORDER BY rowid DESC LIMIT \(candidates)
                    ) f JOIN workspace_chats c ON c.id = f.id
                    WHERE c.status != 'streaming'
                    \(pageClause)
                    """
                arguments = rankArguments + [match, maxId]
            } else if let owner = Self.ownerOnlyFilter(query, viewer: viewer), fewestMatches >= ChatSearchQuery.frequencyWalk {
                // Only the owner restricts (a user's own search, the usual case) and the words are common:
                // checking each match's row for its owner read mostly other users' rows. See `ownerCandidates`.
                let candidateRows = try Self.ownerCandidates(db, owner: owner, maxId: maxId, candidates: candidates, density: density,
                                                             matchClause: "\(table) MATCH ?", rankCall: rankCall,
                                                             arguments: rankArguments + [match])
                let offset = query.after?.offset ?? 0
                ranked = Array(candidateRows.sorted { $0.rank != $1.rank ? $0.rank < $1.rank : $0.id < $1.id }
                    .dropFirst(offset).prefix(query.limit + 1))
                sql = nil
                arguments = []
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
                arguments = rankArguments + [match, maxId] + filterArguments
            }
            if let sql {
                ranked = try Row.fetchAll(db, sql: sql, arguments: arguments).map { row in
                    (id: row["id"] as Int64, rank: row["rank"] as Double)
                }
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
            let entries = try Dictionary(
                Row.fetchAll(db, sql: ChatFilterSQL.selectEntries + " WHERE c.id IN (\(placeholders))", arguments: idArguments)
                    .map { row in (row[0] as Int64, try ChatFilterSQL.entry(row)) },
                uniquingKeysWith: { first, _ in first })
            // Control characters mark the matches, so the text can be HTML-escaped before the real markers go in.
            let marks: StatementArguments = [ChatSearchHit.rawStart, ChatSearchHit.rawEnd, ChatSearchHit.ellipsis]
            // `rowid IN (…)` makes FTS5 seek each id anew (for a prefix, expanding it anew: a millisecond
            // each). Walking the matches between the page's oldest and newest ids once is cheaper unless
            // that range holds many (a filtered search's page can spread over many other chats' matches).
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
