import Foundation

/// RFC 3339 UTC timestamps as the wire contract writes and reads them.
public enum Timestamp {
    /// The current time at the millisecond precision SQLite stores, so a value read back equals the one written.
    public static func now() -> Date {
        Date(timeIntervalSince1970: (Date().timeIntervalSince1970 * 1000).rounded() / 1000)
    }

    /// Formats `date` as `2026-11-25T10:40:14.123Z`.
    public static func string(from date: Date) -> String {
        // Rounded to the millisecond like SQLite's stored form; the formatter truncates, so it is given
        // the middle of that millisecond to be immune to binary floating-point error.
        let milliseconds = (date.timeIntervalSince1970 * 1000).rounded()
        return Date(timeIntervalSince1970: (milliseconds + 0.5) / 1000)
            .formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: true))
    }

    /// Parses an RFC 3339 timestamp with or without fractional seconds, or a bare `YYYY-MM-DD` date
    /// (taken as midnight UTC).
    public static func date(from string: String) -> Date? {
        if let date = try? Date(string, strategy: Date.ISO8601FormatStyle(includingFractionalSeconds: true)) {
            return date
        }
        if let date = try? Date(string, strategy: Date.ISO8601FormatStyle()) {
            return date
        }
        if string.count == 10, let date = try? Date(string, strategy: Date.ISO8601FormatStyle().year().month().day()) {
            return date
        }
        return nil
    }

    /// Parses the upper end of a time range: like ``date(from:)``, except that a bare `YYYY-MM-DD`
    /// includes that whole day (its last millisecond), as a person writing `to=2026-01-31` means.
    public static func endDate(from string: String) -> Date? {
        guard let date = date(from: string) else { return nil }
        return string.count == 10 ? date.addingTimeInterval(86_400 - 0.001) : date
    }
}
