import ChatBridge
import Logging
import NIOCore
import NIOWebSocket

/// What serves one upgraded WebSocket's messages (`ws/chat` and `ws/agent`), fed by the one frame
/// loop both sockets share (``WebSocketFrameLoop``).
protocol WebSocketSession: Sendable {
    /// A complete text message, in the order the client sent it; the next one waits for this to return.
    func receive(_ message: [UInt8]) async
    /// A message refused before it reached ``receive(_:)`` (too large, binary): the client gets
    /// `error`, the socket stays open (PROTOCOL §1).
    func refuse(_ error: APIError)
    /// The connection is gone; called once, after the last ``receive(_:)``.
    func end() async
}

/// An upgraded connection as a session sees it.
struct WebSocketConnection: Sendable {
    let channel: any Channel
    let logger: Logger
    /// Writes text messages to the client.
    let outbound: WebSocketTextWriter
}

/// Opens the session of a connection a route accepted: runs once, after the upgrade, in a short-lived task.
typealias WebSocketSessionOpener = @Sendable (WebSocketConnection) async throws -> any WebSocketSession

/// Writes text messages to a WebSocket, split into frames of at most `maxFrameSize` bytes (as WSCore
/// does), straight into the channel.
struct WebSocketTextWriter: Sendable {
    let channel: any Channel
    let maxFrameSize: Int

    /// Writes `messages`, flushes once, and returns when the last is written to the socket: a client
    /// that reads slowly makes this wait (its outbox fills up meanwhile and cuts it off with 4001).
    func write(_ messages: some Sequence<String>) async throws {
        var last: EventLoopFuture<Void>?
        for message in messages {
            last = writeFrames(of: message)
        }
        channel.flush()
        try await last?.get()
    }

    private func writeFrames(of message: String) -> EventLoopFuture<Void> {
        var buffer = channel.allocator.buffer(string: message)
        guard buffer.readableBytes > maxFrameSize else {
            return channel.write(WebSocketFrame(fin: true, opcode: .text, data: buffer))
        }
        var opcode = WebSocketOpcode.text
        while buffer.readableBytes > maxFrameSize {
            let slice = buffer.readSlice(length: maxFrameSize)!
            channel.write(WebSocketFrame(fin: false, opcode: opcode, data: slice), promise: nil)
            opcode = .continuation
        }
        return channel.write(WebSocketFrame(fin: true, opcode: .continuation, data: buffer))
    }
}
