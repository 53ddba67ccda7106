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

    /// The date SQLite stores as `YYYY-MM-DD HH:MM:SS.SSS` (or without the fraction), years 1970-9999,
    /// with the same bits as GRDB's decoding (which goes through a Gregorian `Calendar` in UTC, 7 % of a
    /// CSV export); nil for any other spelling or range, which the caller decodes through GRDB.
    ///
    /// The arithmetic is Foundation's: whole days since 2001 in seconds, plus the time of day with its
    /// fraction added first. Adding the fraction to the total instead differs in the last bit for dates
    /// near 2001, so the order matters (checked against GRDB over the whole range by the tests).
    static func storedDate(utf8 text: UnsafeBufferPointer<UInt8>) -> Date? {
        guard text.count == 19 || text.count == 23 else { return nil }
        var valid = true
        func number(_ start: Int, _ count: Int) -> Int {
            var value = 0
            for index in start..<(start + count) {
                let digit = Int(text[index]) &- 0x30
                if digit < 0 || digit > 9 { valid = false }
                value = value &* 10 &+ digit
            }
            return value
        }
        func separator(_ index: Int, _ byte: UInt8) {
            if text[index] != byte { valid = false }
        }
        let year = number(0, 4), month = number(5, 2), day = number(8, 2)
        let hour = number(11, 2), minute = number(14, 2), second = number(17, 2)
        separator(4, UInt8(ascii: "-")); separator(7, UInt8(ascii: "-")); separator(10, UInt8(ascii: " "))
        separator(13, UInt8(ascii: ":")); separator(16, UInt8(ascii: ":"))
        var milliseconds = 0
        if text.count == 23 {
            separator(19, UInt8(ascii: "."))
            milliseconds = number(20, 3)
        }
        guard valid, year >= 1970, (1...12).contains(month), day >= 1, day <= daysInMonth(year: year, month: month),
              hour < 24, minute < 60, second < 60
        else { return nil }
        let days = daysSince1970(year: year, month: month, day: day) - 11_323  // days since 2001-01-01
        let timeOfDay = Double(hour * 3600 + minute * 60 + second) + Double(milliseconds * 1_000_000) / 1e9
        return Date(timeIntervalSinceReferenceDate: Double(days * 86_400) + timeOfDay)
    }

    /// Days from 1970-01-01 to the proleptic Gregorian date (Howard Hinnant's `days_from_civil`, years ≥ 1).
    static func daysSince1970(year: Int, month: Int, day: Int) -> Int {
        let marchYear = month <= 2 ? year - 1 : year
        let era = marchYear / 400
        let yearOfEra = marchYear - era * 400
        let dayOfYear = (153 * ((month + 9) % 12) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    static func daysInMonth(year: Int, month: Int) -> Int {
        switch month {
        case 2: (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
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
