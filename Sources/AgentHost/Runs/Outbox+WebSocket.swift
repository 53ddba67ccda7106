import HummingbirdWebSocket
import NIOCore
import NIOWebSocket

extension Outbox {
    /// The close code of a connection cut off as too slow; the client reconnects and resumes.
    static let slowConsumerCloseCode = WebSocketErrorCode(codeNumber: 4001)

    /// How long the 4001 close frame may take to get through before the connection is closed hard.
    static let slowConsumerCloseGrace = TimeAmount.seconds(2)

    /// Writes this outbox to `outbound` until it finishes, in tasks of `writers` that exist only
    /// while there is something to send; closes the connection with 4001 when it falls behind
    /// (`onSlow` runs once before that close) and when a write fails.
    ///
    /// An idle connection has no writer task: an open connection keeps every task it has, with the
    /// deepest stack that task reached, for as long as it is open. The close of a connection that
    /// falls behind happens on its event loop, from the delivery that overflowed the queue, since
    /// the writer may be stuck in a write to a full socket then.
    func write(to outbound: WebSocketTextWriter, channel: any Channel, through writers: WebSocketWriters,
               onFrame: @escaping @Sendable () -> Void = {}, onSlow: @escaping @Sendable () -> Void) {
        whenTooSlow {
            onSlow()
            Self.closeAsTooSlow(channel)
        }
        let writer = OutboxWriter(outbox: self, outbound: outbound, channel: channel, onFrame: onFrame)
        writeOnDemand { writers.start(writer) }
    }

    /// Sends the 4001 close frame straight into the channel (ahead of frames still waiting in the
    /// WebSocket writer) and closes the connection once it is written, or after a grace period when
    /// it cannot get through a full socket buffer.
    static func closeAsTooSlow(_ channel: any Channel) {
        var data = channel.allocator.buffer(capacity: 48)
        data.write(webSocketErrorCode: slowConsumerCloseCode)
        data.writeString("Too slow to keep up; reconnect and resume.")
        let closeHard = channel.eventLoop.scheduleTask(in: slowConsumerCloseGrace) { channel.close(promise: nil) }
        channel.writeAndFlush(WebSocketFrame(fin: true, opcode: .connectionClose, data: data)).whenComplete { _ in
            closeHard.cancel()
            channel.close(promise: nil)
        }
    }
}

/// One run of a WebSocket's writer: writes what its outbox has, then ends (see
/// ``Outbox/write(to:channel:through:onFrame:onSlow:)``).
struct OutboxWriter: Sendable {
    let outbox: Outbox
    let outbound: WebSocketTextWriter
    let channel: any Channel
    let onFrame: @Sendable () -> Void

    func run() async {
        do {
            while let frames = await outbox.nextForWokenWriter() {
                let texts = frames.compactMap { frame -> String? in
                    switch frame {
                    case .run(let frame): frame.json
                    case .message(let text): text
                    case .keepAlive: nil  // WebSockets ping on their own
                    }
                }
                // One flush for the batch; returns once the socket took it.
                try await outbound.write(texts)
                for _ in texts { onFrame() }
            }
        } catch {
            // A connection found too slow is being closed with 4001 (which failed this write); any
            // other failed write ends the connection, which ends its reader.
            if !outbox.isTooSlow { channel.close(promise: nil) }
        }
    }
}
