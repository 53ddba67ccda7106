import HummingbirdWebSocket
import NIOCore
import NIOWebSocket

extension Outbox {
    /// The close code of a connection cut off as too slow; the client reconnects and resumes.
    static let slowConsumerCloseCode = WebSocketErrorCode(codeNumber: 4001)

    /// How long the 4001 close frame may take to get through before the connection is closed hard.
    static let slowConsumerCloseGrace = TimeAmount.seconds(2)

    /// Writes this outbox to `outbound` until it finishes, or closes the connection with 4001 when
    /// it falls behind (then throws `CancellationError`). `onSlow` runs once before that close.
    ///
    /// The writing happens in the calling task. The close of a connection that falls behind happens
    /// on its event loop, from the delivery that overflowed the queue, since the writer may be stuck
    /// in a write to a full socket then: no task watches for it (an open connection keeps every task
    /// it has, with the deepest stack that task reached, for as long as it is open).
    func pump(to outbound: WebSocketOutboundWriter, channel: any Channel, onFrame: @escaping @Sendable () -> Void = {},
              onSlow: @escaping @Sendable () -> Void) async throws {
        whenTooSlow {
            onSlow()
            Self.closeAsTooSlow(channel)
        }
        do {
            while let frames = await self.next() {
                for frame in frames {
                    switch frame {
                    case .run(let frame): try await outbound.writeTextMessage(frame.json)
                    case .message(let text): try await outbound.writeTextMessage(text)
                    case .keepAlive: continue  // WebSockets ping on their own
                    }
                    onFrame()
                }
            }
        } catch where isTooSlow {
            // The close under a stuck write failed it; the close reports the end below.
        }
        if isTooSlow {
            // The writer also stops when the queue overflows: the 4001 goes out (or the grace runs
            // out) before the connection ends.
            try? await channel.closeFuture.get()
            throw CancellationError()
        }
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
