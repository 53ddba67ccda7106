import Foundation
import GRDB

/// Chat search with PostgreSQL full-text search: generated `tsvector` columns (English stemming,
/// as SQLite's porter tokenizer) with GIN indexes, ranked by `ts_rank_cd`, excerpts by `ts_headline`.
///
/// Same language (``SearchQueryParser``: words all must match, `"phrases"`, `prefix*`), filters,
/// cursor (``SearchPosition``: an offset among chats up to a fixed newest id) and result shape as
/// the FTS5 path. Scores differ: ``ChatSearchHit/rank`` is `-ts_rank_cd`, so smaller is still better.
extension PostgresStore: ChatSearchStore {
    public func search(_ query: ChatSearchQuery, viewer: Viewer) async throws -> ChatSearchPage {
        guard let match = Self.tsQuery(query.text) else { return ChatSearchPage(hits: [], next: nil) }
        let column = switch query.field {
        case .prompt: "prompt_search"
        case .response: "response_search"
        case .both: "chat_search"
        }
        let newestId = try await database.scalar(Int64.self, "SELECT coalesce(max(id), 0) FROM workspace_chats") ?? 0
        let maxId = query.after?.maxId ?? newestId
        let offset = query.after?.offset ?? 0
        // The newest `candidateLimit` matches are ranked (as on SQLite): a word found in most chats
        // costs a bounded walk of the index, not a score per matching chat.
        var statement = PostgresStatement("WITH q AS (SELECT \(match.sql) AS query), candidates AS (")
        statement.arguments += match.statement.arguments
        statement.append("""
            SELECT c.id, ts_rank_cd(c.\(column), q.query) AS score FROM workspace_chats c, q
            WHERE c.\(column) @@ q.query AND c.id <= ? AND c.status <> 'streaming'
            """, [maxId])
        for (condition, arguments) in Self.filterConditions(
            workspaceId: query.workspaceId, threadId: query.threadId, userId: query.userId, from: query.from, to: query.to,
            viewer: viewer) {
            statement.append(" AND " + condition, arguments)
        }
        statement.append(" ORDER BY c.id DESC LIMIT ?) SELECT id, score FROM candidates ORDER BY score DESC, id LIMIT ? OFFSET ?",
                         [max(1, query.candidateLimit), query.limit + 1, offset])
        var ranked = try await database.rows(statement).map { row in
            let (id, score) = try row.decode((Int64, Float).self)
            return (id: id, rank: -Double(score))
        }
        var next: SearchPosition?
        if ranked.count > query.limit {
            ranked.removeLast()
            next = SearchPosition(offset: offset + ranked.count, maxId: maxId)
        }
        guard !ranked.isEmpty else { return ChatSearchPage(hits: [], next: nil) }
        let ids = ranked.map(\.id)
        let placeholders = ids.map { _ in "?" }.joined(separator: ", ")
        var entriesStatement = PostgresStatement(Self.selectChatEntries)
        entriesStatement.append(" WHERE c.id IN (\(placeholders))", ids)
        let entries = try Dictionary(
            await database.fetchAll(entriesStatement).map { row in (row["id"] as Int64, try Self.chatEntry(row)) },
            uniquingKeysWith: { first, _ in first })
        // Control characters mark the matches, so the text can be HTML-escaped before the real markers go in.
        // One continuous excerpt (not fragments, which drop what the parser reads as markup).
        let options = "StartSel=\"\(ChatSearchHit.rawStart)\", StopSel=\"\(ChatSearchHit.rawEnd)\", MaxWords=24, MinWords=8, ShortWord=2"
        var snippetStatement = PostgresStatement("WITH q AS (SELECT \(match.sql) AS query) ")
        snippetStatement.arguments += match.statement.arguments
        snippetStatement.append("""
            SELECT c.id, ts_headline('english', translate(c.prompt, '<>', ?), q.query, ?),
                   ts_headline('english', translate(c.response, '<>', ?), q.query, ?)
            FROM workspace_chats c, q WHERE c.id IN (\(placeholders))
            """, [Self.angleStandIns, options, Self.angleStandIns, options] + ids)
        var snippets: [Int64: (prompt: String, response: String)] = [:]
        for row in try await database.rows(snippetStatement) {
            let (id, prompt, response) = try row.decode((Int64, String?, String?).self)
            snippets[id] = (Self.restoringAngles(prompt ?? ""), Self.restoringAngles(response ?? ""))
        }
        let hits = ranked.compactMap { id, rank -> ChatSearchHit? in
            guard let entry = entries[id], let snippet = snippets[id] else { return nil }
            return ChatSearchHit(entry: entry, promptSnippet: ChatSearchHit.highlighted(snippet.prompt),
                                 responseSnippet: ChatSearchHit.highlighted(snippet.response), rank: rank)
        }
        return ChatSearchPage(hits: hits, next: next)
    }

    /// ts_headline drops whatever looks like an HTML tag, so `<` and `>` go in as control characters
    /// (separators to the parser, as they were) and come back before the excerpt is escaped.
    static let angleStandIns = "\u{3}\u{4}"

    static func restoringAngles(_ text: String) -> String {
        text.replacingOccurrences(of: "\u{3}", with: "<").replacingOccurrences(of: "\u{4}", with: ">")
    }

    /// The `tsquery` of what a user typed: every term must match (`&&`), a phrase word after word
    /// (`phraseto_tsquery`), a prefix through `to_tsquery` over its letters and digits only, so no
    /// input is ever tsquery syntax. `nil` when there is nothing to search for.
    static func tsQuery(_ text: String) -> (sql: String, statement: PostgresStatement)? {
        let terms = SearchQueryParser.terms(text)
        guard !terms.isEmpty else { return nil }
        var parts: [String] = []
        var statement = PostgresStatement("")
        for term in terms {
            if term.isPrefix {
                let words = term.text.unicodeScalars.split { !SearchQueryParser.isTokenCharacter($0) }
                    .map { String(String.UnicodeScalarView($0)).lowercased() }
                guard !words.isEmpty else { continue }
                parts.append("to_tsquery('english', ?)")
                statement.arguments.append(.text(words.joined(separator: " <-> ") + ":*"))
            } else if term.isPhrase {
                parts.append("phraseto_tsquery('english', ?)")
                statement.arguments.append(.text(term.text))
            } else {
                parts.append("plainto_tsquery('english', ?)")
                statement.arguments.append(.text(term.text))
            }
        }
        guard !parts.isEmpty else { return nil }
        return ("(" + parts.joined(separator: " && ") + ")", statement)
    }
}
