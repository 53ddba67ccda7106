import Foundation
import Testing

@testable import ChatBridge

/// Extraction and chunking do work proportional to their input, with the text they may produce capped.
@Suite("Bounded document work")
struct BoundedDocumentWorkTests {
    @Test func budgetIsARatioOfTheUploadWithAFloorAndACap() throws {
        #expect(ExtractedTextBudget(name: "a", uploadBytes: 1_000_000, ratio: 20, maxTextBytes: 64 << 20).limit == 20_000_000)
        #expect(ExtractedTextBudget(name: "a", uploadBytes: 10_000_000, ratio: 20, maxTextBytes: 64 << 20).limit == 64 << 20)
        #expect(ExtractedTextBudget(name: "a", uploadBytes: 10, ratio: 20, maxTextBytes: 64 << 20).limit == ExtractedTextBudget.floor)
        #expect(ExtractedTextBudget(name: "a", uploadBytes: Int.max / 2, ratio: 20, maxTextBytes: 100).limit == 100)
        var budget = ExtractedTextBudget(name: "a.csv", uploadBytes: 10, ratio: 1, maxTextBytes: 10, floor: 0)
        try budget.charge(10)
        #expect(throws: APIError.self) { try budget.charge(1) }
    }

    @Test func csvAndJSONStopAtTheBudgetNotAfterBuildingTheText() throws {
        // 2,000 records under a 10 KB header: 20 MB of text unbounded; stopped after ~100 KB.
        let csv = String(repeating: "h", count: 10_000) + "\n" + String(repeating: "1\n", count: 2000)
        var budget = ExtractedTextBudget(name: "a.csv", uploadBytes: csv.utf8.count, ratio: 1, maxTextBytes: 100_000, floor: 0)
        let error = try #require(throws: APIError.self) { _ = try DocumentExtractor.csvText(csv, name: "a.csv", budget: &budget) }
        #expect(error.code == .tooLarge)
        #expect(budget.used <= budget.limit + 10_003, "charged at most one line past the limit")

        let json = #"{"\#(String(repeating: "k", count: 10_000))": [\#(Array(repeating: "1", count: 2000).joined(separator: ","))]}"#
        var jsonBudget = ExtractedTextBudget(name: "a.json", uploadBytes: json.utf8.count, ratio: 4, maxTextBytes: 1 << 30, floor: 0)
        #expect(throws: APIError.self) { _ = try DocumentExtractor.jsonText(json, name: "a.json", budget: &jsonBudget) }
        #expect(jsonBudget.used <= jsonBudget.limit + 10_020)
    }

    @Test func extractedTextIsUnchangedWithinTheBudget() throws {
        var budget = ExtractedTextBudget(name: "x", uploadBytes: 1 << 20, ratio: 20, maxTextBytes: 64 << 20)
        #expect(try DocumentExtractor.csvText("a,b\n1,2\n3,\n", name: "x", budget: &budget) == "a: 1\nb: 2\n\na: 3\nb: ")
        #expect(try DocumentExtractor.csvText("a,b\n", name: "x", budget: &budget) == "a, b")
        #expect(try DocumentExtractor.csvText(",b\n1,2,3\n", name: "x", budget: &budget) == "column 1: 1\nb: 2\ncolumn 3: 3")
        let json = #"{"z": 1, "a": {"b": [true, null, "s"]}, "r": [{"k": 1}, {"k": 2}]}"#
        #expect(try DocumentExtractor.jsonText(json, name: "x", budget: &budget)
            == "a.b[0]: true\na.b[1]: null\na.b[2]: s\nr[0].k: 1\nr[1].k: 2\n\nz: 1")
        #expect(try DocumentExtractor.jsonText("42", name: "x", budget: &budget) == "value: 42")
        #expect(try DocumentExtractor.jsonText(#"[{"a": 1}]"#, name: "x", budget: &budget) == "[0].a: 1\n")
    }

    @Test func aThreeMegabyteWordIsChunkedInLinearTime() {
        // Quadratic cutting (re-count and copy the rest after each cut) took minutes at this size.
        let word = String(repeating: "abcdefghij", count: 300_000)
        let started = ContinuousClock.now
        let pieces = DocumentChunker(size: 1000, overlap: 150).chunk(word)
        #expect(ContinuousClock.now - started < .seconds(30))
        #expect(pieces.count == 3000)
        #expect(pieces.allSatisfy { $0.text.utf8.count == 1000 && $0.heading == nil })
        #expect(pieces.map(\.text).joined() == word)
    }

    @Test func longWordsAmongShortOnesKeepTheirOrderAndSizes() {
        let chunker = DocumentChunker(size: 50, overlap: 0)
        let long = String(repeating: "x", count: 120)
        let pieces = chunker.split("short words \(long) tail words")
        #expect(pieces == ["short words", String(repeating: "x", count: 50), String(repeating: "x", count: 50),
                           String(repeating: "x", count: 20) + " tail words"])
    }
}
