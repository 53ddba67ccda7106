import ChatBridge
import NIOCore
import NIOWebSocket

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

    /// Takes a text, binary or continuation frame's (unmasked) payload.
    mutating func consume(opcode: WebSocketOpcode, fin: Bool, data: ByteBuffer) -> Result {
        if opcode != .continuation {
            bytes = []
            size = 0
            isText = opcode == .text
        }
        size += data.readableBytes
        // Past the limit the rest of the message is counted but not kept.
        if size <= maxBytes { bytes.append(contentsOf: data.readableBytesView) } else { bytes.removeAll() }
        guard fin else { return .incomplete }
        // A fresh buffer, not one kept at capacity: the message handed out still shares this storage,
        // so keeping capacity would copy it at the largest size ever seen, for every later message.
        defer { bytes = [] }
        if size > maxBytes { return .tooLarge(size) }
        return isText ? .text(bytes) : .binary
    }
}
