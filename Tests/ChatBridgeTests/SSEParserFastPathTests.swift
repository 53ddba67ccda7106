import Hummingbird
import Testing

@testable import ChatBridge

/// The parser reads contiguous bytes (arrays, a received `ByteBuffer`) a line at a time and other
/// sequences a byte at a time: both must give the same events for any split of the input.
@Suite("SSE parser, contiguous and byte-wise input")
struct SSEParserFastPathTests {
    static let streams: [String] = [
        "data: {\"choices\":[{\"delta\":{\"content\":\"tok\"}}]}\n\ndata: [DONE]\n\n",
        "\u{FEFF}event: ping\r\nid: 7\r\ndata: a\r\ndata: b\r\n\r\n: comment\rdata:c\r\rretry: 300\n\ndata\n\n",
        "data: héllo 日本語 🎉\n\nid: x\u{0}y\ndata: z\n\nevent:\ndata: no type\n\n",
        "data: unterminated",
        "",
    ]

    @Test(arguments: streams)
    func contiguousAndByteWiseInputAgree(_ text: String) {
        let bytes = Array(text.utf8)
        for split in 0...bytes.count {
            var contiguous = SSEParser()
            var byteWise = SSEParser()
            var buffer = ByteBuffer(bytes: bytes[split...])
            let fast = contiguous.parse(bytes[..<split]) + contiguous.parse(buffer.readableBytesView)
            let slow = byteWise.parse(AnySequence(bytes[..<split])) + byteWise.parse(AnySequence(bytes[split...]))
            #expect(fast == slow, "split at \(split)")
            #expect(contiguous.retryMilliseconds == byteWise.retryMilliseconds)
            buffer.clear()
        }
    }
}
