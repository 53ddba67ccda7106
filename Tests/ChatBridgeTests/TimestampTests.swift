import Foundation
import GRDB
import Testing

@testable import ChatBridge

@Suite("Timestamps")
struct TimestampTests {
    /// Foundation's spelling, which `Timestamp.string(from:)` used to return for every date.
    static func formatterSpelling(_ date: Date) -> String {
        let milliseconds = (date.timeIntervalSince1970 * 1000).rounded()
        return Date(timeIntervalSince1970: (milliseconds + 0.5) / 1000)
            .formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: true))
    }

    /// The hand-written formatter exports use spells every date as Foundation's ISO 8601 formatter did:
    /// day, month and year edges (leap days, centuries, 2000 and 2100), millisecond rounding on both sides
    /// of a second, random instants over the whole four-digit range, and the dates outside it (before 1970,
    /// past 9999) that still go through Foundation.
    @Test func theFastFormatterSpellsEveryDateAsFoundationDid() {
        var dates: [Date] = []
        let edges = ["1970-01-01T00:00:00Z", "1999-12-31T23:59:59Z", "2000-02-29T12:00:00Z", "2000-03-01T00:00:00Z",
                     "2024-02-29T23:59:59Z", "2100-02-28T23:59:59Z", "2100-03-01T00:00:00Z", "2026-11-25T10:40:14Z",
                     "9999-12-31T23:59:59Z", "1969-12-31T23:59:59Z", "1900-01-01T00:00:00Z"]
        for edge in edges {
            let date = try! Date(edge, strategy: Date.ISO8601FormatStyle())
            for offset in [-1.0, -0.0015, -0.0005, -0.0004, 0, 0.0004, 0.0005, 0.0006, 0.999, 0.9995, 0.9999, 1] {
                dates.append(date.addingTimeInterval(offset))
            }
        }
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<5_000 {
            dates.append(Date(timeIntervalSince1970: Double.random(in: 0..<253_402_300_800, using: &generator)))
            dates.append(Date(timeIntervalSince1970: Double(Int64.random(in: 0..<253_402_300_800_000, using: &generator)) / 1000))
        }
        dates.append(Date(timeIntervalSince1970: 253_402_300_800))  // 10000-01-01
        dates.append(Date(timeIntervalSince1970: -1e11))
        for date in dates {
            let expected = Self.formatterSpelling(date)
            #expect(Timestamp.string(from: date) == expected, "\(date.timeIntervalSince1970)")
            var bytes: [UInt8] = [0x41]
            Timestamp.append(date, to: &bytes)
            #expect(bytes == [0x41] + Array(expected.utf8))
        }
        #expect(Timestamp.string(from: Timestamp.date(from: "2026-11-25T10:40:14.123Z")!) == "2026-11-25T10:40:14.123Z")
    }

    /// The stored-text decoder gives GRDB's `Date` bit for bit: every day boundary, leap days, month
    /// ends and the days around 2001-01-01 (where adding the fraction in another order changes the last
    /// bit), every millisecond of a second, with and without the fraction, and random instants over the
    /// four-digit years; and it declines (nil) every other spelling, which the export leaves to GRDB.
    @Test func theStoredDateDecoderGivesGRDBsBits() throws {
        var texts: [String] = []
        for year in [1970, 1971, 1999, 2000, 2001, 2002, 2024, 2026, 2100, 2400, 9999] {
            let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
            for (month, day) in [(1, 1), (2, 28), (2, 29), (3, 1), (6, 30), (12, 31)] where leap || day != 29 {
                texts.append(String(format: "%04d-%02d-%02d 23:59:59.999", year, month, day))
                texts.append(String(format: "%04d-%02d-%02d 00:00:00", year, month, day))
            }
        }
        for millisecond in 0..<1000 {
            texts.append(String(format: "2026-11-25 10:40:14.%03d", millisecond))
            texts.append(String(format: "2000-12-27 09:44:42.%03d", millisecond))
        }
        var rng = SystemRandomNumberGenerator()
        for index in 0..<100_000 {
            // A tenth near 2001, the rest anywhere in 1970-9999.
            let year = index % 10 == 0 ? Int.random(in: 1999...2002, using: &rng) : Int.random(in: 1970...9999, using: &rng)
            let month = Int.random(in: 1...12, using: &rng)
            let day = Int.random(in: 1...Timestamp.daysInMonth(year: year, month: month), using: &rng)
            let time = String(format: "%02d:%02d:%02d", Int.random(in: 0...23, using: &rng), Int.random(in: 0...59, using: &rng),
                              Int.random(in: 0...59, using: &rng))
            let fraction = index % 5 == 0 ? "" : String(format: ".%03d", Int.random(in: 0...999, using: &rng))
            texts.append(String(format: "%04d-%02d-%02d ", year, month, day) + time + fraction)
        }
        var mismatches: [String] = []
        for text in texts {
            let grdb = try #require(Date.fromDatabaseValue(text.databaseValue), "\(text)")
            var utf8 = text
            let fast = try utf8.withUTF8 { try #require(Timestamp.storedDate(utf8: $0), "\(text)") }
            if fast.timeIntervalSinceReferenceDate.bitPattern != grdb.timeIntervalSinceReferenceDate.bitPattern { mismatches.append(text) }
        }
        #expect(mismatches.isEmpty, "\(mismatches.prefix(10))")

        let declined = ["1969-12-31 23:59:59.999", "0999-01-01 00:00:00.000", "2026-11-25T10:40:14.123", "2026-11-25 10:40:14.1",
                        "2026-11-25 10:40:14.12", "2026-11-25 10:40:14.1234", "2026-11-25 10:40:14Z", "2026-11-25 10:40:14.12Z",
                        "2026-11-25 10:40", "2026-11-25", "2023-02-29 00:00:00.000", "2100-02-29 00:00:00.000", "2026-04-31 00:00:00", "2026-13-01 00:00:00",
                        "2026-00-10 00:00:00", "2026-01-00 00:00:00", "2026-01-01 24:00:00", "2026-01-01 00:60:00",
                        "2026-01-01 00:00:60", "2026-01-01 0a:00:00", "2026/01/01 00:00:00", "2026-01-01 00:00:00,000",
                        "+026-01-01 00:00:00", "2026-01-01 00:00:00.-12", ""]
        for text in declined {
            var utf8 = text
            #expect(utf8.withUTF8 { Timestamp.storedDate(utf8: $0) } == nil, "\(text)")
        }
    }
}
