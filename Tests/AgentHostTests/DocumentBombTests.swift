import AgentHostTesting
import ChatBridge
import Foundation
import GRDB
import Hummingbird
import HummingbirdTesting
import NIOCore
import Testing

@testable import AgentHost

/// Uploads built to cost far more than their size (PROTOCOL §1 `too_large`, issue 11 "bounded work
/// per request"), against a real server on a real socket: each is refused quickly and stores nothing.
@Suite("Document resource bombs")
struct DocumentBombTests {
    /// `{"<64 KiB key>": ["item …", × 40,000]}`, 1.3 MB: every value repeats the key (2.6 GB of text unbounded).
    static func longKeyJSON() -> [UInt8] {
        let key = String(repeating: "k", count: 64 * 1024)
        let items = (0..<40_000).map { #""item \#($0) of the array, padded.""# }.joined(separator: ",")
        return Array(#"{"\#(key)": [\#(items)]}"#.utf8)
    }

    /// A 1 MB header cell over 100,000 one-character records (100 GB of text unbounded).
    static func wideHeaderCSV() -> [UInt8] {
        Array((String(repeating: "h", count: 1024 * 1024) + "\n" + String(repeating: "1\n", count: 100_000)).utf8)
    }

    @Test func repeatedKeyPathsAndHeadersAreRefusedBeforeTheTextIsBuilt() async throws {
        let harness = try await TestHarness()
        try await harness.addWorkspace("Docs")
        let json = Self.longKeyJSON()
        let csv = Self.wideHeaderCSV()
        #expect(json.count > 1_200_000 && json.count < 1_700_000)
        let peakBefore = try #require(ProcessMemory.peak)
        try await harness.testLive { client in
            let started = ContinuousClock.now
            defer {
                // Unbounded, these two take minutes and ~10 GB each; bounded, seconds and megabytes.
                #expect(ContinuousClock.now - started < .seconds(30))
            }
            let jsonResponse = try await client.uploadMultipart("docs", filename: "bomb.json", mime: "application/json", data: json)
            #expect(jsonResponse.status == .contentTooLarge, "\(jsonResponse.text)")
            #expect(jsonResponse.errorCode == "too_large")
            #expect(try jsonResponse.json["error"]?["message"]?.stringValue?.contains("key paths") == true)
            let csvResponse = try await client.upload("docs", name: "bomb.csv", mime: "text/csv", data: csv)
            #expect(csvResponse.status == .contentTooLarge, "\(csvResponse.text)")
            #expect(csvResponse.errorCode == "too_large")
        }
        let peakAfter = try #require(ProcessMemory.peak)
        #expect(peakAfter - peakBefore < 1 << 30, "peak RSS grew by \(peakAfter - peakBefore) bytes")
        let stored = try await harness.store.writer.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM documents")! }
        #expect(stored == 0)
    }

    @Test func theTextLimitFollowsItsSettings() async throws {
        // Ratio 2, floor aside: a CSV whose text is ~3× its size passes with the default ratio and
        // is refused at 2× once past the 64 KiB floor; the absolute cap refuses even plain text.
        let header = (1...20).map { "descriptive_column_\($0)" }.joined(separator: ",")
        let rows = String(repeating: (1...20).map { "\($0 % 10)" }.joined(separator: ",") + "\n", count: 3000)
        let csv = Array((header + "\n" + rows).utf8)
        let lenient = try await TestHarness()
        try await lenient.addWorkspace("Docs")
        try await lenient.testLive { client in
            let response = try await client.upload("docs", name: "table.csv", mime: "text/csv", data: csv)
            #expect(response.status == .created, "\(response.text)")
        }
        let strict = try await TestHarness { $0.documents.maxTextRatio = 2; $0.documents.maxTextBytes = 100_000 }
        try await strict.addWorkspace("Docs")
        try await strict.testLive { client in
            let response = try await client.upload("docs", name: "table.csv", mime: "text/csv", data: csv)
            #expect(response.errorCode == "too_large", "\(response.text)")
            let plain = try await client.upload("docs", name: "long.txt", mime: "text/plain", data: Array(repeating: 65, count: 100_001))
            #expect(plain.errorCode == "too_large", "\(plain.text)")
            let fits = try await client.upload("docs", name: "short.txt", mime: "text/plain", data: Array(repeating: 65, count: 100_000))
            #expect(fits.status == .created, "\(fits.text)")
        }
    }
}
