import Foundation
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
}
