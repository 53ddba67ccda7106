import GRDB

extension SQLiteStore {
    /// The page of (id, rank) after `query.after`, plus one to tell whether another page follows, given how
    /// common each phrase is (`rankArguments`: matches and span per phrase, from the frequency walks).
    static func ranked(
        _ db: Database, query: ChatSearchQuery, viewer: Viewer, match: String, phrases: Int, filters: [String],
        filterArguments: StatementArguments, rankArguments: StatementArguments, fewestMatches: Int, maxId: Int64
    ) throws -> [(id: Int64, rank: Double)] {
        let table = AppDatabase.chatSearchTable
        let rankCall = "\(FTS5Ranking.functionName)(\(table)" + String(repeating: ", ?", count: 2 * phrases) + ")"
        let candidates = max(1, query.candidateLimit)
        // Ranks and ids only: snippets are made for the page's rows alone, by the caller. bm25 is computed for the
        // newest `candidateLimit` matches that pass the filters, not all of them: FTS5 walks its index
        // newest-first and stops there, so a word in most chats costs about as much as a rarer one
        // instead of a score and a sort per matching chat (seconds over a million chats).
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
        } else if let owner, Self.ownerIsTheOnlyFilter(query), fewestMatches < ChatSearchQuery.frequencyWalk {
            // A user's search of a rare word: probing the owner's index for each of its few matches costs
            // less than FTS5 seeking the owner's long list of chats for each (2.2 vs 4.2 ms of CPU over a
            // million chats).
            sql = """
                SELECT id, rank FROM (
                    SELECT f.rowid AS id, \(rankCall) AS rank
                    FROM \(table) f JOIN workspace_chats c INDEXED BY workspace_chats_by_user ON c.user_id = ? AND c.id = f.rowid
                    WHERE \(table) MATCH ? AND f.rowid <= ? AND +f.rowid \(notStreaming)
                    ORDER BY f.rowid DESC LIMIT \(candidates)
                )
                \(pageClause)
                """
            arguments = rankArguments + [owner, match, maxId]
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
        return try Row.fetchAll(db, sql: sql, arguments: arguments).map { row in
            (id: row["id"] as Int64, rank: row["rank"] as Double)
        }
    }
}
