import ChatBridge
import Foundation
import Hummingbird

/// Typed, validated access to a request's query string; every bad value is a `validation_failed`.
struct QueryParameters {
    private let parameters: Hummingbird.Parameters

    init(_ request: Request) {
        parameters = request.uri.queryParameters
    }

    /// A name-like parameter (a slug, a user, a cursor, a time…). Control characters are refused:
    /// no name holds them, and SQLite reads a bound text as a C string in places, so `docs%00x`
    /// could otherwise quietly stand for `docs`.
    func string(_ name: String) throws -> String? {
        guard let value = parameters.get(name), !value.isEmpty else { return nil }
        if let control = value.unicodeScalars.first(where: { $0.properties.generalCategory == .control }) {
            let code = String(control.value, radix: 16, uppercase: true)
            throw APIError.validation(
                "Query parameter '\(name)' must not contain control characters (found U+\(String(repeating: "0", count: max(0, 4 - code.count)) + code)).")
        }
        return value
    }

    /// Free text such as a search query, control characters included: its reader decides what they mean.
    func text(_ name: String) -> String? {
        guard let value = parameters.get(name), !value.isEmpty else { return nil }
        return value
    }

    func requiredString(_ name: String) throws -> String {
        guard let value = try string(name) else { throw APIError.validation("Query parameter '\(name)' is required.") }
        return value
    }

    func int(_ name: String, default defaultValue: Int, range: ClosedRange<Int>) throws -> Int {
        guard let text = try string(name) else { return defaultValue }
        guard let value = Int(text), range.contains(value) else {
            throw APIError.validation(
                "Query parameter '\(name)' must be an integer from \(range.lowerBound) to \(range.upperBound); got '\(text)'.")
        }
        return value
    }

    func bool(_ name: String, default defaultValue: Bool) throws -> Bool {
        guard let text = try string(name) else { return defaultValue }
        switch text.lowercased() {
        case "true", "1", "yes": return true
        case "false", "0", "no": return false
        default: throw APIError.validation("Query parameter '\(name)' must be true or false; got '\(text)'.")
        }
    }

    /// A time parameter; `endOfRange` makes a bare `YYYY-MM-DD` include that whole day (for `to`).
    func date(_ name: String, endOfRange: Bool = false) throws -> Date? {
        guard let text = try string(name) else { return nil }
        guard let date = endOfRange ? Timestamp.endDate(from: text) : Timestamp.date(from: text) else {
            throw APIError.validation("Query parameter '\(name)' must be an RFC 3339 time such as 2026-01-31T12:00:00Z; got '\(text)'.")
        }
        return date
    }
}

/// Opaque keyset cursors: the client hands back what it was given and never builds one.
enum Cursor {
    static func encode(beforeId id: Int64) -> String {
        Base64URL.encode(Array("v1:\(id)".utf8))
    }

    static func decodeBeforeId(_ cursor: String) throws -> Int64 {
        guard let data = Base64URL.decode(cursor), let text = String(data: data, encoding: .utf8),
              text.hasPrefix("v1:"), let id = Int64(text.dropFirst(3)), id > 0
        else { throw APIError.validation("The cursor is not valid; pass the next_cursor of a previous page unchanged.") }
        return id
    }
}
