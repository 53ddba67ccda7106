import AgentHostTesting
import ChatBridge
import Foundation
import HummingbirdTesting
import NIOCore
import NIOEmbedded
import NIOWebSocket
import Testing

@testable import AgentHost

extension WebSocketSuites {
/// The server's WebSocket pings (``WebSocketKeepAliveHandler``, on the event loop instead of a task
/// per connection): a peer that answers stays, one that does not is closed; an idle connection
/// still works. With the other WebSocket suites, one test at a time: the live tests depend on the
/// client answering pings in time, which a flood of frames beside them would delay.
@Suite("WebSocket keep-alive pings")
struct WebSocketKeepAliveTests {
    /// An active embedded channel with the handler, on a clock the test moves.
    private static func channel(interval: TimeAmount) throws -> (EmbeddedChannel, EmbeddedEventLoop) {
        let loop = EmbeddedEventLoop()
        let channel = EmbeddedChannel(loop: loop)
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
        try channel.pipeline.syncOperations.addHandler(WebSocketKeepAliveHandler(interval: interval))
        return (channel, loop)
    }

    private static func maskedPong(answering ping: WebSocketFrame) -> WebSocketFrame {
        // Client frames are masked (RFC 6455 §5.3): the handler compares the unmasked payload.
        let key: WebSocketMaskingKey = [1, 2, 3, 4]
        var payload = ping.data
        payload.webSocketMask(key)
        return WebSocketFrame(fin: true, opcode: .pong, maskKey: key, data: payload)
    }

    @Test func pingsEveryIntervalWhileAnsweredAndClosesWith1001WhenNot() throws {
        let (channel, loop) = try Self.channel(interval: .seconds(30))
        loop.advanceTime(by: .seconds(29))
        #expect(try channel.readOutbound(as: WebSocketFrame.self) == nil, "no ping before the interval")
        // Three intervals, each ping answered: the connection stays open.
        for _ in 0..<3 {
            loop.advanceTime(by: .seconds(1))
            let ping = try #require(try channel.readOutbound(as: WebSocketFrame.self))
            #expect(ping.opcode == .ping)
            #expect(ping.data.readableBytes == WebSocketKeepAliveHandler.pingDataSize)
            try channel.writeInbound(Self.maskedPong(answering: ping))
            // The pong goes on to the connection's reader.
            #expect(try channel.readInbound(as: WebSocketFrame.self)?.opcode == .pong)
            loop.advanceTime(by: .seconds(29))
            #expect(channel.isActive)
        }
        // A ping answered with the wrong payload, then nothing: closed one interval later with 1001.
        loop.advanceTime(by: .seconds(1))
        let ping = try #require(try channel.readOutbound(as: WebSocketFrame.self))
        #expect(ping.opcode == .ping)
        try channel.writeInbound(WebSocketFrame(fin: true, opcode: .pong, data: ByteBuffer(string: "not the ping data")))
        loop.advanceTime(by: .seconds(30))
        let close = try #require(try channel.readOutbound(as: WebSocketFrame.self))
        #expect(close.opcode == .connectionClose)
        var payload = close.data
        #expect(payload.readWebSocketErrorCode() == .goingAway)
        #expect(!channel.isActive, "the connection is closed after the close frame")
        _ = try? channel.finish()
    }

    @Test func stopsPingingOnceACloseFrameWentOut() throws {
        let (channel, loop) = try Self.channel(interval: .seconds(30))
        var code = ByteBuffer()
        code.write(webSocketErrorCode: .normalClosure)
        try channel.writeOutbound(WebSocketFrame(fin: true, opcode: .connectionClose, data: code))
        #expect(try channel.readOutbound(as: WebSocketFrame.self)?.opcode == .connectionClose)
        loop.advanceTime(by: .seconds(120))
        #expect(try channel.readOutbound(as: WebSocketFrame.self) == nil, "no ping after the close handshake began")
        #expect(channel.isActive, "the handler leaves the close to the connection")
        _ = try? channel.finish()
    }

    /// A client that never answers pings (a raw TCP socket) is closed with 1001 after two intervals.
    @Test func aPeerThatNeverAnswersIsClosedOverARealSocket() async throws {
        let harness = try await TestHarness { $0.webSocket.pingInterval = .milliseconds(200) }
        try await harness.addWorkspace("Ops")
        try await harness.testLive { client in
            let port = try #require(client.port)
            let channel = try await RawConnection.connect(port: port)
            let underlying = channel.channel
            // However the server behaves, the test ends within 30 s (the close frame below tells the
            // server's close from this one).
            let watchdog = underlying.eventLoop.scheduleTask(in: .seconds(30)) { underlying.close(promise: nil) }
            defer { watchdog.cancel() }
            var bytes: [UInt8] = []
            try? await channel.executeThenClose { inbound, outbound in
                try await outbound.write(ByteBuffer(string: RawConnection.upgrade("/ws/agent/ops/", host: "localhost")))
                do {
                    for try await buffer in inbound { bytes += buffer.readableBytesView }
                } catch {
                    // Reset by the server: closed all the same.
                }
            }
            let text = String(decoding: bytes, as: UTF8.self)
            #expect(text.hasPrefix("HTTP/1.1 101"))
            let frames = try RawConnection.serverFrames(after: bytes)
            #expect(frames.contains { $0.opcode == 0x9 }, "the server pinged")
            let close = try #require(frames.last)
            #expect(close.opcode == 0x8, "the last frame closes the connection")
            #expect(close.payload.prefix(2) == [0x03, 0xE9], "1001 going away")
        }
    }

    /// A client that answers pings (as browsers and WebSocket libraries do) stays connected through
    /// many ping intervals and is still served: `ping`, `typing` and `chat` frames.
    @Test func anIdleChatSocketThatAnswersPingsStaysOpenAndServed() async throws {
        // An interval the client's answers meet even on a loaded machine, short enough for a few pings.
        try await TestHarness.withUpstream(configure: { $0.webSocket.pingInterval = .milliseconds(1500) }) { harness, upstream in
            try await harness.addWorkspace("Team")
            await upstream.enqueue(VendorStream.openAI(tokens: ["still", " here"]))
            try await harness.testLive { client in
                try await client.chatSocket("team") { socket in
                    _ = try await socket.next("connected")
                    // Idle for more than two intervals; waiting for the answer reads the socket, which answers pings.
                    try await withThrowingTaskGroup(of: Void.self) { group in
                        group.addTask {
                            try await Task.sleep(for: .milliseconds(4000))
                            try await socket.send(["type": "ping"])
                        }
                        #expect(try await socket.next().type == "pong")
                        try await group.waitForAll()
                    }
                    try await socket.send(["type": "typing", "is_typing": true])
                    try await socket.send(["type": "chat", "message": "are you there?"])
                    let frames = try await WebSocketSuites.ChatSocketTests.generation(socket)
                    #expect(frames.filter { $0.type == "chat_token" }.compactMap { $0["token"]?.stringValue }.joined() == "still here")
                    #expect(frames.last?.type == "chat_complete")
                }
            }
        }
    }
}
}
