import Foundation
import GRDB
import GRDBSQLite

/// The `agenthost_bm25` FTS5 ranking function: FTS5's own bm25 (k1 = 1.2, b = 0.75, every column
/// weighted 1) with the document frequency of each phrase supplied by the query instead of counted.
///
/// FTS5's `bm25()` counts, on its first call in a statement, the rows holding each phrase by running
/// the phrase over the whole index. For a word found in most of a million chats that walk alone takes
/// tens of milliseconds, whatever the `LIMIT`. Search instead walks at most a few thousand of the
/// newest matches per phrase (``ChatSearch``) and passes what it saw:
///
///     agenthost_bm25(table, matches₁, span₁, matches₂, span₂, …)
///
/// A phrase with `span` 0 was walked to its end, so `matches` is its exact row count. Otherwise the
/// walk stopped after `matches` rows among the newest `span` row ids, and the count is estimated as
/// that density times the table's rows. Only the phrases given counts are scored (a phrase after them,
/// the owner filter `user_id : "7"`, is not), and row lengths count the first ``textColumns`` columns:
/// with exact counts the result equals `bm25(table)` over a table of the text columns alone.
public enum FTS5Ranking {
    public static let functionName = "agenthost_bm25"
    /// The leading columns that hold text (prompt, response); the columns after them (the owner) are filters.
    static let textColumns: Int32 = 2

    /// Registers the function on `db`'s connection (each connection of a pool needs it).
    static func register(in db: Database) {
        let api = FTS5.api(db)
        _ = api.pointee.xCreateFunction(UnsafeMutablePointer(mutating: api), functionName, nil, rank, nil)
    }

    /// The phrase's row count from a walk of its newest matches, as ``functionName`` reads it.
    static func documentFrequency(matches: Double, span: Double, rows: Double) -> Double {
        guard span > 0 else { return matches }
        return min(rows, max(matches, rows * matches / span))
    }
}

private let rank: fts5_extension_function = { api, fts, context, argumentCount, arguments in
    guard let api = api?.pointee, let fts else {
        sqlite3_result_error(context, "agenthost_bm25: no FTS5 context", -1)
        return
    }
    // The phrases the caller gave counts for are the query's words; any after them filter (the owner).
    let phraseCount = min(Int(api.xPhraseCount(fts)), Int(argumentCount) / 2)
    var rows: sqlite3_int64 = 0
    var totalTokens: sqlite3_int64 = 0
    var rowTokens: Int32 = 0
    guard api.xRowCount(fts, &rows) == SQLITE_OK else {
        sqlite3_result_error_code(context, SQLITE_ERROR)
        return
    }
    // Lengths of the text columns only (the owner column adds a token to every owned chat).
    for column in 0..<min(FTS5Ranking.textColumns, api.xColumnCount(fts)) {
        var columnTotal: sqlite3_int64 = 0
        var columnTokens: Int32 = 0
        guard api.xColumnTotalSize(fts, column, &columnTotal) == SQLITE_OK, api.xColumnSize(fts, column, &columnTokens) == SQLITE_OK
        else {
            sqlite3_result_error_code(context, SQLITE_ERROR)
            return
        }
        totalTokens += columnTotal
        rowTokens += columnTokens
    }
    // FTS5's bm25, term for term (fts5_aux.c).
    let k1 = 1.2
    let b = 0.75
    let rowCount = Double(rows)
    let averageLength = rows > 0 ? Double(totalTokens) / rowCount : 1
    let lengthNorm = k1 * (1 - b + b * Double(rowTokens) / averageLength)
    var score = 0.0
    for phrase in 0..<phraseCount {
        // The phrase's instances in this row, from its own position list: `xInstCount` would first merge
        // and sort the instances of every phrase, the owner's too, into an array allocated per row.
        var iterator = Fts5PhraseIter()
        var column: Int32 = 0
        var offset: Int32 = 0
        guard api.xPhraseFirst(fts, Int32(phrase), &iterator, &column, &offset) == SQLITE_OK else {
            sqlite3_result_error_code(context, SQLITE_ERROR)
            return
        }
        var frequency = 0.0
        while column >= 0 {
            frequency += 1
            api.xPhraseNext(fts, &iterator, &column, &offset)
        }
        guard frequency > 0 else { continue }
        let matches = sqlite3_value_double(arguments?[2 * phrase])
        let span = sqlite3_value_double(arguments?[2 * phrase + 1])
        let hits = FTS5Ranking.documentFrequency(matches: matches, span: span, rows: rowCount)
        var idf = log((rowCount - hits + 0.5) / (hits + 0.5))
        if idf <= 0 { idf = 1e-6 }
        score += idf * (frequency * (k1 + 1)) / (frequency + lengthNorm)
    }
    sqlite3_result_double(context, -score)
}
