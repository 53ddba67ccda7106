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
/// that density times the table's rows. With exact counts the result equals `bm25(table)`.
public enum FTS5Ranking {
    public static let functionName = "agenthost_bm25"

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
    let phraseCount = Int(api.xPhraseCount(fts))
    // Phrases the caller gave no counts for (none, if it built the call from the same phrases) count as rare.
    let described = min(phraseCount, Int(argumentCount) / 2)
    var rows: sqlite3_int64 = 0
    var totalTokens: sqlite3_int64 = 0
    var rowTokens: Int32 = 0
    var instances: Int32 = 0
    guard api.xRowCount(fts, &rows) == SQLITE_OK, api.xColumnTotalSize(fts, -1, &totalTokens) == SQLITE_OK,
          api.xColumnSize(fts, -1, &rowTokens) == SQLITE_OK, api.xInstCount(fts, &instances) == SQLITE_OK
    else {
        sqlite3_result_error_code(context, SQLITE_ERROR)
        return
    }
    var frequencies = [Double](repeating: 0, count: phraseCount)
    for index in 0..<instances {
        var phrase: Int32 = 0
        var column: Int32 = 0
        var offset: Int32 = 0
        if api.xInst(fts, index, &phrase, &column, &offset) == SQLITE_OK, phrase >= 0, Int(phrase) < phraseCount {
            frequencies[Int(phrase)] += 1
        }
    }
    // FTS5's bm25, term for term (fts5_aux.c).
    let k1 = 1.2
    let b = 0.75
    let rowCount = Double(rows)
    let averageLength = rows > 0 ? Double(totalTokens) / rowCount : 1
    let lengthNorm = k1 * (1 - b + b * Double(rowTokens) / averageLength)
    var score = 0.0
    for phrase in 0..<phraseCount where frequencies[phrase] > 0 {
        let matches = phrase < described ? sqlite3_value_double(arguments?[2 * phrase]) : 0
        let span = phrase < described ? sqlite3_value_double(arguments?[2 * phrase + 1]) : 0
        let hits = FTS5Ranking.documentFrequency(matches: matches, span: span, rows: rowCount)
        var idf = log((rowCount - hits + 0.5) / (hits + 0.5))
        if idf <= 0 { idf = 1e-6 }
        let frequency = frequencies[phrase]
        score += idf * (frequency * (k1 + 1)) / (frequency + lengthNorm)
    }
    sqlite3_result_double(context, -score)
}
