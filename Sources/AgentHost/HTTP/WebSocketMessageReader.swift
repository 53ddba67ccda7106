import ChatBridge
import HummingbirdWebSocket

/// Assembles WebSocket messages from frames, refusing oversize ones without closing the socket.
struct WebSocketMessageReader {
    enum Result {
        case incomplete
        case text([UInt8])
        case binary
        case tooLarge(Int)
    }

    let maxBytes: Int
    private var bytes: [UInt8] = []
    private var size = 0
    private var isText = true

    init(maxBytes: Int) {
        self.maxBytes = maxBytes
    }

    mutating func consume(_ frame: WebSocketDataFrame) -> Result {
        if frame.opcode != .continuation {
            bytes = []
            size = 0
            isText = frame.opcode == .text
        }
        size += frame.data.readableBytes
        // Past the limit the rest of the message is counted but not kept.
        if size <= maxBytes { bytes.append(contentsOf: frame.data.readableBytesView) } else { bytes.removeAll() }
        guard frame.fin else { return .incomplete }
        // A fresh buffer, not one kept at capacity: the message handed out still shares this storage,
        // so keeping capacity would copy it at the largest size ever seen, for every later message.
        defer { bytes = [] }
        if size > maxBytes { return .tooLarge(size) }
        return isText ? .text(bytes) : .binary
    }
}

extension WebSocketMessageReader {
    /// The inbound half of both sockets' frame loop: assembles messages, answers an oversize or binary
    /// message with an error (the socket stays open, PROTOCOL §1) and hands every text message to `body`.
    static func forEachText(in inbound: WebSocketInboundStream, maxBytes: Int, refuse: (APIError) -> Void,
                            _ body: ([UInt8]) async -> Void) async throws {
        var reader = WebSocketMessageReader(maxBytes: maxBytes)
        for try await frame in inbound {
            switch reader.consume(frame) {
            case .incomplete:
                continue
            case .tooLarge(let size):
                refuse(APIError(.tooLarge, "The frame is \(size) bytes; the limit is \(maxBytes)."))
            case .binary:
                refuse(APIError(.invalidJSON, "Send JSON as text frames, not binary."))
            case .text(let bytes):
                await body(bytes)
            }
        }
    }
}
