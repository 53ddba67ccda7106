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

    /// `agenthost_bm25_part(table, part)`: what the rank of the current row is made of, for a search that
    /// ranks in Swift the rows it walked once (a one-phrase search: its frequency walk and its candidates
    /// are the same rows). Part 0 is the first phrase's instances in the row times 2³² plus the row's
    /// length in tokens (text columns), 1 the table's rows, 2 its total length in tokens (text columns).
    public static let partsFunctionName = "agenthost_bm25_part"
    /// The leading columns that hold text (prompt, response); the columns after them (the owner) are filters.
    static let textColumns: Int32 = 2
    static let k1 = 1.2
    static let b = 0.75

    /// Registers the functions on `db`'s connection (each connection of a pool needs them).
    static func register(in db: Database) {
        let api = FTS5.api(db)
        _ = api.pointee.xCreateFunction(UnsafeMutablePointer(mutating: api), functionName, nil, rankFunction, nil)
        _ = api.pointee.xCreateFunction(UnsafeMutablePointer(mutating: api), partsFunctionName, nil, rankPartsFunction, nil)
    }

    /// The phrase's row count from a walk of its newest matches, as ``functionName`` reads it.
    static func documentFrequency(matches: Double, span: Double, rows: Double) -> Double {
        guard span > 0 else { return matches }
        return min(rows, max(matches, rows * matches / span))
    }

    // The arithmetic of FTS5's bm25 (fts5_aux.c), term for term, in one place: the SQL function and the
    // ranking in Swift must give the same bits.

    /// The length normalisation of a row of `rowTokens` tokens in a table of `rows` rows and `totalTokens` tokens.
    static func lengthNorm(rows: Int64, totalTokens: Int64, rowTokens: Int32) -> Double {
        let rowCount = Double(rows)
        let averageLength = rows > 0 ? Double(totalTokens) / rowCount : 1
        return k1 * (1 - b + b * Double(rowTokens) / averageLength)
    }

    /// The inverse document frequency of a phrase seen `matches` times among the newest `span` ids.
    static func inverseFrequency(matches: Double, span: Double, rows: Int64) -> Double {
        let rowCount = Double(rows)
        let hits = documentFrequency(matches: matches, span: span, rows: rowCount)
        var idf = log((rowCount - hits + 0.5) / (hits + 0.5))
        if idf <= 0 { idf = 1e-6 }
        return idf
    }

    /// One phrase's share of a row's score.
    static func term(inverseFrequency idf: Double, frequency: Double, lengthNorm: Double) -> Double {
        idf * (frequency * (k1 + 1)) / (frequency + lengthNorm)
    }

    /// The rank (negated score, smaller is better) of a row where the only phrase occurs `frequency` times,
    /// as ``functionName`` computes it.
    static func rank(frequency: Int64, rowTokens: Int32, rows: Int64, totalTokens: Int64, matches: Double, span: Double) -> Double {
        var score = 0.0
        if frequency > 0 {
            score += term(inverseFrequency: inverseFrequency(matches: matches, span: span, rows: rows), frequency: Double(frequency),
                          lengthNorm: lengthNorm(rows: rows, totalTokens: totalTokens, rowTokens: rowTokens))
        }
        return -score
    }
}

/// The row's and the table's lengths (text columns only: the owner column adds a token to every owned
/// chat), or `nil` after reporting an error.
private func lengths(_ api: Fts5ExtensionApi, _ fts: OpaquePointer, _ context: OpaquePointer?) -> (rows: Int64, total: Int64, row: Int32)? {
    var rows: sqlite3_int64 = 0
    var totalTokens: sqlite3_int64 = 0
    var rowTokens: Int32 = 0
    guard api.xRowCount(fts, &rows) == SQLITE_OK else {
        sqlite3_result_error_code(context, SQLITE_ERROR)
        return nil
    }
    for column in 0..<min(FTS5Ranking.textColumns, api.xColumnCount(fts)) {
        var columnTotal: sqlite3_int64 = 0
        var columnTokens: Int32 = 0
        guard api.xColumnTotalSize(fts, column, &columnTotal) == SQLITE_OK, api.xColumnSize(fts, column, &columnTokens) == SQLITE_OK
        else {
            sqlite3_result_error_code(context, SQLITE_ERROR)
            return nil
        }
        totalTokens += columnTotal
        rowTokens += columnTokens
    }
    return (rows, totalTokens, rowTokens)
}

/// The phrase's instances in the current row, from its own position list (`xInstCount` would first merge
/// and sort the instances of every phrase, the owner's too, into an array allocated per row), or `nil`
/// after reporting an error.
private func instances(_ api: Fts5ExtensionApi, _ fts: OpaquePointer, _ context: OpaquePointer?, phrase: Int32) -> Int64? {
    var iterator = Fts5PhraseIter()
    var column: Int32 = 0
    var offset: Int32 = 0
    guard api.xPhraseFirst(fts, phrase, &iterator, &column, &offset) == SQLITE_OK else {
        sqlite3_result_error_code(context, SQLITE_ERROR)
        return nil
    }
    var count: Int64 = 0
    while column >= 0 {
        count += 1
        api.xPhraseNext(fts, &iterator, &column, &offset)
    }
    return count
}

private let rankPartsFunction: fts5_extension_function = { api, fts, context, argumentCount, arguments in
    guard let api = api?.pointee, let fts, argumentCount == 1 else {
        sqlite3_result_error(context, "agenthost_bm25_part: no FTS5 context or no part", -1)
        return
    }
    guard api.xPhraseCount(fts) >= 1, let sizes = lengths(api, fts, context) else { return }
    switch sqlite3_value_int(arguments?[0]) {
    case 0:
        guard let frequency = instances(api, fts, context, phrase: 0) else { return }
        sqlite3_result_int64(context, frequency << 32 | Int64(sizes.row))
    case 1: sqlite3_result_int64(context, sizes.rows)
    default: sqlite3_result_int64(context, sizes.total)
    }
}

private let rankFunction: fts5_extension_function = { api, fts, context, argumentCount, arguments in
    guard let api = api?.pointee, let fts else {
        sqlite3_result_error(context, "agenthost_bm25: no FTS5 context", -1)
        return
    }
    // The phrases the caller gave counts for are the query's words; any after them filter (the owner).
    let phraseCount = min(Int(api.xPhraseCount(fts)), Int(argumentCount) / 2)
    guard let sizes = lengths(api, fts, context) else { return }
    let lengthNorm = FTS5Ranking.lengthNorm(rows: sizes.rows, totalTokens: sizes.total, rowTokens: sizes.row)
    var score = 0.0
    for phrase in 0..<phraseCount {
        guard let frequency = instances(api, fts, context, phrase: Int32(phrase)) else { return }
        guard frequency > 0 else { continue }
        let idf = FTS5Ranking.inverseFrequency(matches: sqlite3_value_double(arguments?[2 * phrase]),
                                               span: sqlite3_value_double(arguments?[2 * phrase + 1]), rows: sizes.rows)
        score += FTS5Ranking.term(inverseFrequency: idf, frequency: Double(frequency), lengthNorm: lengthNorm)
    }
    sqlite3_result_double(context, -score)
}
