import ChatBridge
import HummingbirdTesting
import Logging
import NIOCore
import NIOPosix
import NIOWebSocket
import Synchronization
import Testing

@testable import AgentHost

/// A client that sends faster than its session handles: the frame loop stops reading the socket
/// with ``WebSocketInbox/pauseAt`` messages waiting, and reads again once they are down to
/// ``WebSocketInbox/resumeAt``, so a flood waits in the kernel's buffers instead of in memory, and
/// every message still arrives, in order. Over a real loopback socket: an embedded channel has no
/// `autoRead` to observe.
@Suite("WebSocket back-pressure", .timeLimit(.minutes(1)))
struct WebSocketBackPressureTests {
    /// A session that handles nothing until `release`.
    final class StalledSession: WebSocketSession {
        let released = CancelSignal()
        private let received = Mutex<[String]>([])
        var messages: [String] { received.withLock { $0 } }

        func receive(_ message: [UInt8]) async {
            await released.wait()
            received.withLock { $0.append(String(decoding: message, as: UTF8.self)) }
        }

        func refuse(_ error: APIError) {}
        func end() async {}
    }

    @Test func readingPausesWhileTheSessionIsBehindAndResumesWhenItCatchesUp() async throws {
        let session = StalledSession()
        let tasks = WebSocketWriters()
        let server = Mutex<(any Channel)?>(nil)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await tasks.run() }
            let listener = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .childChannelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        let connection = WebSocketConnection(channel: channel, logger: Logger(label: "test"),
                                                             outbound: WebSocketTextWriter(channel: channel, maxFrameSize: 1 << 14))
                        let inbox = WebSocketInbox(connection: connection, opener: { _ in session }, tasks: tasks,
                                                   afterOpening: { _ in })
                        try channel.pipeline.syncOperations.addHandlers([
                            ByteToMessageHandler(WebSocketFrameDecoder(maxFrameSize: 1 << 14)), WebSocketFrameEncoder(),
                            WebSocketFrameLoop(inbox: inbox, maxMessageBytes: 1024, closeTimeout: .seconds(5)),
                        ])
                        inbox.open()
                        server.withLock { $0 = channel }
                    }
                }
                .bind(host: "127.0.0.1", port: 0).get()
            let client = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(WebSocketFrameEncoder()) }
                }
                .connect(host: "127.0.0.1", port: try #require(listener.localAddress?.port)).get()
            let sent = (0..<40).map { #"{"n":\#($0)}"# }
            for text in sent {
                // Masked by the encoder, as a client's frames must be (RFC 6455 §5.3).
                client.write(WebSocketFrame(fin: true, opcode: .text, maskKey: [7, 7, 7, 7], data: ByteBuffer(string: text)), promise: nil)
            }
            client.flush()

            // The session takes one message and stalls on it; ten more wait, and reading stops.
            let accepted = try await Poll.value { server.withLock { $0 } }
            try await Poll.until { try await accepted.getOption(ChannelOptions.autoRead).get() == false }
            #expect(session.messages.isEmpty)

            session.released.request()
            try await Poll.until { session.messages.count == sent.count }
            #expect(session.messages == sent, "every message, in the order sent")
            #expect(try await accepted.getOption(ChannelOptions.autoRead).get(), "reading resumed")

            try await client.close()
            try await listener.close()
            group.cancelAll()
        }
    }

    /// A single frame larger than the server reads at all (the largest message limit plus 1 MiB) is
    /// a protocol violation: the server closes with 1009 as soon as the frame's header announces it,
    /// without reading its payload. Over the real server: the frame decoder and its error handler are
    /// the upgrade's, not the frame loop's.
    @Test func aFrameAnnouncedOverTheFrameLimitIsClosedWith1009() async throws {
        let harness = try await TestHarness { $0.chatSocket.maxFrameBytes = 4096 }
        try await harness.addWorkspace("Team")
        let limit = harness.configuration.webSocketMaxFrameSize
        try await harness.testLive { client in
            let channel = try await RawConnection.connect(port: try #require(client.port))
            let underlying = channel.channel
            let watchdog = underlying.eventLoop.scheduleTask(in: .seconds(20)) { underlying.close(promise: nil) }
            defer { watchdog.cancel() }
            let bytes: [UInt8] = try await channel.executeThenClose { inbound, outbound in
                try await outbound.write(ByteBuffer(string: RawConnection.upgrade("/ws/chat/team/", host: "localhost")))
                var bytes: [UInt8] = []
                var header = ByteBuffer()
                // FIN + text, masked, 64-bit length one byte over the limit, the mask key; no payload.
                header.writeInteger(UInt8(0x81))
                header.writeInteger(UInt8(0x80 | 127))
                header.writeInteger(UInt64(limit + 1))
                header.writeBytes([1, 2, 3, 4])
                var sentHeader = false
                do {
                    for try await buffer in inbound {
                        bytes += buffer.readableBytesView
                        if !sentHeader, String(decoding: bytes, as: UTF8.self).contains("\r\n\r\n") {
                            sentHeader = true
                            try await outbound.write(header)
                        }
                    }
                } catch {
                    // Reset after the close frame: what arrived is kept.
                }
                return bytes
            }
            let text = String(decoding: bytes, as: UTF8.self)
            #expect(text.hasPrefix("HTTP/1.1 101"), "\(text.prefix(200))")
            // The server's close frame: 0x88, a payload of at least the two code bytes, 1009 first.
            let close = try #require(try RawConnection.serverFrames(after: bytes).last { $0.opcode == 0x8 }, "no close frame in \(bytes.count) bytes")
            #expect(close.payload.prefix(2) == [0x03, 0xF1], "1009 message too big, got \(close.payload.prefix(2))")
        }
    }
}
