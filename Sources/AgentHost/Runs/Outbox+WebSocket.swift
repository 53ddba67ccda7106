import HummingbirdWebSocket
import NIOCore
import NIOWebSocket

extension Outbox {
    /// The close code of a connection cut off as too slow; the client reconnects and resumes.
    static let slowConsumerCloseCode = WebSocketErrorCode(codeNumber: 4001)

    /// Writes this outbox to `outbound` until it finishes, or closes the connection with 4001 when
    /// it falls behind (then throws `CancellationError`). `onSlow` runs once before that close.
    ///
    /// The writing happens in the calling task; only the watcher for slowness, which must act while
    /// a write is stuck on a full socket, is a child task. Every task an open connection keeps costs
    /// it memory for as long as it is open (its task allocator keeps its deepest stack).
    func pump(to outbound: WebSocketOutboundWriter, channel: any Channel, onFrame: @escaping @Sendable () -> Void = {},
              onSlow: @escaping @Sendable () -> Void) async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                await self.waitUntilTooSlow()
                guard !Task.isCancelled else { return }
                onSlow()
                // The close frame may never get through a full socket buffer: then close hard.
                _ = await withTimeout(.seconds(2)) {
                    try? await outbound.close(Self.slowConsumerCloseCode, reason: "Too slow to keep up; reconnect and resume.")
                }
                try? await channel.close()
                throw CancellationError()
            }
            defer { group.cancelAll() }
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
                // The watcher closed the connection under a stuck write; it reports the end below.
            }
            // The writer also stops when the queue overflows: let the watcher send the 4001 first.
            if isTooSlow { try await group.next() }
        }
    }
}
