import Foundation

/// RFC 3339 UTC timestamps as the wire contract writes and reads them.
public enum Timestamp {
    /// The current time at the millisecond precision SQLite stores, so a value read back equals the one written.
    public static func now() -> Date {
        Date(timeIntervalSince1970: (Date().timeIntervalSince1970 * 1000).rounded() / 1000)
    }

    /// Formats `date` as `2026-11-25T10:40:14.123Z`.
    public static func string(from date: Date) -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(24)
        append(date, to: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Appends ``string(from:)``'s UTF-8 bytes to `output` (exports write two per chat: going through
    /// Foundation's formatter was a tenth of a CSV export).
    public static func append(_ date: Date, to output: inout [UInt8]) {
        // Rounded to the millisecond like SQLite's stored form.
        let milliseconds = (date.timeIntervalSince1970 * 1000).rounded()
        guard milliseconds >= 0, milliseconds < Self.year10000 else {
            // Years before 1970 or past 9999 (none a chat has) keep the formatter's own spelling. It
            // truncates, so it is given the middle of the millisecond, immune to floating-point error.
            output.append(contentsOf: Date(timeIntervalSince1970: (milliseconds + 0.5) / 1000)
                .formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: true)).utf8)
            return
        }
        let total = Int64(milliseconds)
        let (days, dayMilliseconds) = total.quotientAndRemainder(dividingBy: 86_400_000)
        let (year, month, day) = civilDate(daysSince1970: days)
        let seconds = dayMilliseconds / 1000
        func digits(_ value: Int64, _ count: Int) {
            var divisor: Int64 = 1
            for _ in 1..<count { divisor *= 10 }
            while divisor > 0 {
                output.append(UInt8(ascii: "0") + UInt8(value / divisor % 10))
                divisor /= 10
            }
        }
        digits(year, 4)
        output.append(UInt8(ascii: "-"))
        digits(month, 2)
        output.append(UInt8(ascii: "-"))
        digits(day, 2)
        output.append(UInt8(ascii: "T"))
        digits(seconds / 3600, 2)
        output.append(UInt8(ascii: ":"))
        digits(seconds / 60 % 60, 2)
        output.append(UInt8(ascii: ":"))
        digits(seconds % 60, 2)
        output.append(UInt8(ascii: "."))
        digits(dayMilliseconds % 1000, 3)
        output.append(UInt8(ascii: "Z"))
    }

    /// 10000-01-01T00:00:00Z in milliseconds since 1970: the first instant with a five-digit year.
    static let year10000 = 253_402_300_800_000.0

    /// The proleptic Gregorian (year, month, day) `days` after 1970-01-01 (days ≥ 0), by Howard
    /// Hinnant's `civil_from_days`.
    static func civilDate(daysSince1970 days: Int64) -> (year: Int64, month: Int64, day: Int64) {
        let shifted = days + 719_468  // days since 0000-03-01
        let era = shifted / 146_097
        let dayOfEra = shifted - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let monthIndex = (5 * dayOfYear + 2) / 153  // March = 0
        let day = dayOfYear - (153 * monthIndex + 2) / 5 + 1
        let month = monthIndex < 10 ? monthIndex + 3 : monthIndex - 9
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
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
