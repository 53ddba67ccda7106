import ChatBridge
import Foundation
import Testing
@testable import Tools

@Suite struct CurrentTimeToolTests {
    private func run(_ arguments: JSONValue, at date: Date) async throws -> JSONValue {
        let fixture = try await StoreFixture()
        return try await CurrentTimeTool().run(arguments: arguments, context: fixture.context(now: { date }))
    }

    @Test func defaultsToUTC() async throws {
        let output = try await run([:], at: fixedNow)
        #expect(output == [
            "time_zone": "UTC",
            "iso8601": "2026-11-25T10:00:00+00:00",
            "unix": 1_795_600_800,
            "weekday": "Wednesday",
            "utc_offset": "+00:00",
        ])
    }

    @Test func parisInWinterAndSummer() async throws {
        let winter = try await run(["time_zone": "Europe/Paris"], at: fixedNow)
        #expect(winter["iso8601"] == "2026-11-25T11:00:00+01:00")
        #expect(winter["utc_offset"] == "+01:00")
        #expect(winter["time_zone"] == "Europe/Paris")
        #expect(winter["unix"] == 1_795_600_800)

        let summer = try await run(["time_zone": "Europe/Paris"], at: Date(timeIntervalSince1970: 1_782_900_000))  // 2026-07-01T10:00Z
        #expect(summer["iso8601"] == "2026-07-01T12:00:00+02:00")
        #expect(summer["utc_offset"] == "+02:00")
        #expect(summer["weekday"] == "Wednesday")
    }

    @Test func newYorkAcrossMidnightAndDST() async throws {
        // 03:00Z on the 25th is still the evening of Tuesday the 24th in New York (EST, -05:00).
        let evening = try await run(["time_zone": "America/New_York"], at: fixedNow.addingTimeInterval(-7 * 3600))
        #expect(evening["iso8601"] == "2026-11-24T22:00:00-05:00")
        #expect(evening["weekday"] == "Tuesday")
        #expect(evening["utc_offset"] == "-05:00")

        let summer = try await run(["time_zone": "America/New_York"], at: Date(timeIntervalSince1970: 1_782_900_000))
        #expect(summer["iso8601"] == "2026-07-01T06:00:00-04:00")
    }

    @Test func theMomentDaylightSavingStarts() async throws {
        let change = Date(timeIntervalSince1970: 1_774_746_000)  // 2026-03-29T01:00:00Z, clocks jump in the EU
        let before = try await run(["time_zone": "Europe/Berlin"], at: change.addingTimeInterval(-1))
        let after = try await run(["time_zone": "Europe/Berlin"], at: change)
        #expect(before["iso8601"] == "2026-03-29T01:59:59+01:00")
        #expect(after["iso8601"] == "2026-03-29T03:00:00+02:00")
        #expect(after["weekday"] == "Sunday")
    }

    @Test func fractionalHourOffsets() async throws {
        #expect(try await run(["time_zone": "Asia/Kathmandu"], at: fixedNow)["iso8601"] == "2026-11-25T15:45:00+05:45")
        #expect(try await run(["time_zone": "America/St_Johns"], at: fixedNow)["utc_offset"] == "-03:30")
        #expect(CurrentTimeTool.offsetString(seconds: -(3 * 3600 + 1800)) == "-03:30")
        #expect(CurrentTimeTool.offsetString(seconds: 0) == "+00:00")
    }

    @Test func toleratesCaseMistakes() async throws {
        #expect(try await run(["time_zone": "europe/paris"], at: fixedNow)["time_zone"] == "Europe/Paris")
        #expect(try await run(["time_zone": "utc"], at: fixedNow)["time_zone"] == "UTC")
    }

    @Test func unknownZoneNamesItAndSuggestsOne() async throws {
        let error = await #expect(throws: ToolError.self) {
            try await run(["time_zone": "Mars/Olympus_Mons"], at: fixedNow)
        }
        #expect(error?.message.contains(#""Mars/Olympus_Mons""#) == true)
        #expect(error?.message.contains("Europe/Paris") == true)
    }
}
