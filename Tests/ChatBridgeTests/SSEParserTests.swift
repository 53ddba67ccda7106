import Testing

@testable import ChatBridge

@Suite("SSE parser")
struct SSEParserTests {
    /// Feeds `text` split at every possible single point and checks each split gives the same events.
    static func parseAllSplits(_ text: String) -> [SSEEvent] {
        let bytes = Array(text.utf8)
        var parser = SSEParser()
        let whole = parser.parse(bytes)
        for split in 0...bytes.count {
            var splitParser = SSEParser()
            let events = splitParser.parse(bytes[..<split]) + splitParser.parse(bytes[split...])
            #expect(events == whole, "split at \(split)")
        }
        return whole
    }

    @Test func lineEndingsCommentsAndMultilineData() {
        let events = Self.parseAllSplits(": comment\r\nevent: a\r\ndata: one\r\ndata:two\r\n\r\ndata: lf\n\ndata: cr\r\rid: 7\ndata: x\n\n")
        #expect(events == [
            SSEEvent(event: "a", data: "one\ntwo"),
            SSEEvent(data: "lf"),
            SSEEvent(data: "cr"),
            SSEEvent(data: "x", id: "7"),
        ])
    }

    @Test func fieldsWithoutValuesAndUnknownFields() {
        let events = Self.parseAllSplits("data\n\nfoo: bar\ndata:  two spaces\n\nevent\ndata: y\n\n")
        #expect(events == [SSEEvent(data: ""), SSEEvent(data: " two spaces"), SSEEvent(data: "y")])
    }

    @Test func eventWithoutDataIsNotDispatchedAndTypeResets() {
        let events = Self.parseAllSplits("event: ping\n\ndata: after\n\n")
        #expect(events == [SSEEvent(data: "after")])
    }

    @Test func idPersistsAndNulIdIsIgnored() {
        let events = Self.parseAllSplits("id: 1\ndata: a\n\ndata: b\n\nid: bad\u{0}\ndata: c\n\n")
        #expect(events.map(\.id) == ["1", "1", "1"])
    }

    @Test func bomAndRetryAndUnterminatedEvent() {
        var parser = SSEParser()
        let events = parser.parse(Array("\u{FEFF}data: first\nretry: 1500\n\ndata: unterminated".utf8))
        #expect(events == [SSEEvent(data: "first")])
        #expect(parser.retryMilliseconds == 1500)
        parser.finish()
        #expect(parser.parse(Array("\n".utf8)).isEmpty, "an unterminated event is dropped at the end of the stream")
    }

    @Test func utf8SplitInsideACharacter() {
        let events = Self.parseAllSplits("data: héllo 🌍\n\n")
        #expect(events == [SSEEvent(data: "héllo 🌍")])
    }
}
