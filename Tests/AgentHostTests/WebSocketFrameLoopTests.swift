import ChatBridge
import Logging
import NIOCore
import NIOEmbedded
import NIOWebSocket
import Synchronization
import Testing

@testable import AgentHost

/// The frame loop both sockets share (``WebSocketFrameLoop``, on the event loop) and the inbox that
/// feeds their sessions in short-lived tasks (``WebSocketInbox``): WSCore's wire behaviour, and no
/// task left for an idle connection.
@Suite("WebSocket frame loop", .timeLimit(.minutes(1)))
struct WebSocketFrameLoopTests {
    /// Records what a session was given.
    final class RecordingSession: WebSocketSession {
        enum Event: Equatable, Sendable {
            case message(String)
            case refusal(APIError.Code)
            case end
        }

        private let recorded = Mutex<[Event]>([])
        var events: [Event] { recorded.withLock { $0 } }

        func receive(_ message: [UInt8]) async {
            recorded.withLock { $0.append(.message(String(decoding: message, as: UTF8.self))) }
        }

        func refuse(_ error: APIError) {
            recorded.withLock { $0.append(.refusal(error.code)) }
        }

        func end() async {
            recorded.withLock { $0.append(.end) }
        }
    }

    /// Stands for a socket's output half-close, which an embedded channel does not have (it closes
    /// entirely): records it and leaves the channel open.
    final class OutputHalfClose: ChannelOutboundHandler, @unchecked Sendable {
        typealias OutboundIn = Any
        private(set) var outputClosed = false

        func close(context: ChannelHandlerContext, mode: CloseMode, promise: EventLoopPromise<Void>?) {
            guard mode == .output else { return context.close(mode: mode, promise: promise) }
            outputClosed = true
            promise?.succeed(())
        }
    }

    /// An active embedded channel with a frame loop whose session is `session`.
    private static func channel(session: RecordingSession = RecordingSession(), tasks: WebSocketWriters = WebSocketWriters(),
                                maxMessageBytes: Int = 1024, closeTimeout: Duration = .seconds(15))
        throws -> (EmbeddedChannel, EmbeddedEventLoop, WebSocketInbox) {
        let loop = EmbeddedEventLoop()
        let channel = EmbeddedChannel(handler: OutputHalfClose(), loop: loop)
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
        let connection = WebSocketConnection(channel: channel, logger: Logger(label: "test"),
                                             outbound: WebSocketTextWriter(channel: channel, maxFrameSize: 1 << 14))
        let inbox = WebSocketInbox(connection: connection, opener: { _ in session }, tasks: tasks, afterOpening: { _ in })
        try channel.pipeline.syncOperations.addHandler(
            WebSocketFrameLoop(inbox: inbox, maxMessageBytes: maxMessageBytes, closeTimeout: closeTimeout))
        return (channel, loop, inbox)
    }

    /// A client frame: masked (RFC 6455 §5.3).
    private static func clientFrame(_ opcode: WebSocketOpcode, _ payload: ByteBuffer, fin: Bool = true,
                                    rsv1: Bool = false) -> WebSocketFrame {
        let key: WebSocketMaskingKey = [1, 2, 3, 4]
        var data = payload
        data.webSocketMask(key)
        return WebSocketFrame(fin: fin, rsv1: rsv1, opcode: opcode, maskKey: key, data: data)
    }

    private static func clientText(_ text: String, fin: Bool = true, rsv1: Bool = false) -> WebSocketFrame {
        clientFrame(.text, ByteBuffer(string: text), fin: fin, rsv1: rsv1)
    }

    private static func clientClose(_ code: UInt16) -> WebSocketFrame {
        var payload = ByteBuffer()
        payload.writeInteger(code)
        return clientFrame(.connectionClose, payload)
    }

    private static func closeCode(_ frame: WebSocketFrame?) throws -> WebSocketErrorCode? {
        let frame = try #require(frame)
        #expect(frame.opcode == .connectionClose)
        var data = frame.data
        return data.readWebSocketErrorCode()
    }

    @Test func answersAPingWithItsPayloadAndAClientsCloseWithACloseThenCloses() throws {
        let (channel, _, _) = try Self.channel()
        try channel.writeInbound(Self.clientFrame(.ping, ByteBuffer(string: "hello")))
        let pong = try #require(try channel.readOutbound(as: WebSocketFrame.self))
        #expect(pong.opcode == .pong)
        #expect(pong.data == ByteBuffer(string: "hello"))
        #expect(channel.isActive)

        try channel.writeInbound(Self.clientClose(1000))
        #expect(try Self.closeCode(try channel.readOutbound(as: WebSocketFrame.self)) == .normalClosure)
        #expect(!channel.isActive, "the server closes the connection once its close is written")
        _ = try? channel.finish()
    }

    @Test(arguments: [UInt16(1005), 2999, 5000])
    func aCloseWithACodeOutsideTheAllowedRangeIsAnsweredWith1002(code: UInt16) throws {
        let (channel, _, _) = try Self.channel()
        try channel.writeInbound(Self.clientClose(code))
        #expect(try Self.closeCode(try channel.readOutbound(as: WebSocketFrame.self)) == .protocolError)
        #expect(!channel.isActive)
        _ = try? channel.finish()
    }

    @Test func reservedBitsCloseWith1002ThenNothingMoreIsReadOrWrittenUntilTheClientsClose() throws {
        let session = RecordingSession()
        let (channel, _, _) = try Self.channel(session: session)
        try channel.writeInbound(Self.clientText(#"{"type":"ping"}"#, rsv1: true))
        #expect(try Self.closeCode(try channel.readOutbound(as: WebSocketFrame.self)) == .protocolError)
        #expect(channel.isActive, "the close handshake waits for the client's close")
        #expect(try channel.pipeline.syncOperations.handler(type: OutputHalfClose.self).outputClosed,
                "the output is shut after the close frame")

        // After the close frame: the client's data is dropped and nothing more goes out.
        try channel.writeInbound(Self.clientText(#"{"type":"ping"}"#))
        let late = channel.writeAndFlush(WebSocketFrame(fin: true, opcode: .text, data: ByteBuffer(string: "late")))
        #expect(throws: ChannelError.outputClosed) { try late.wait() }
        #expect(try channel.readOutbound(as: WebSocketFrame.self) == nil)

        try channel.writeInbound(Self.clientClose(1000))
        #expect(!channel.isActive, "the client's close ends the handshake")
        #expect(try channel.readOutbound(as: WebSocketFrame.self) == nil, "no second close frame")
        _ = try? channel.finish()
    }

    @Test func anUnknownOpcodeAndAFragmentedPingCloseWith1002() throws {
        let (first, _, _) = try Self.channel()
        try first.writeInbound(Self.clientFrame(WebSocketOpcode(encodedWebSocketOpcode: 3)!, ByteBuffer(string: "x")))
        #expect(try Self.closeCode(try first.readOutbound(as: WebSocketFrame.self)) == .protocolError)
        _ = try? first.finish()

        let (second, _, _) = try Self.channel()
        try second.writeInbound(Self.clientFrame(.ping, ByteBuffer(string: "x"), fin: false))
        #expect(try Self.closeCode(try second.readOutbound(as: WebSocketFrame.self)) == .protocolError)
        _ = try? second.finish()
    }

    @Test func aShutdownClosesWith1000AndAClientThatNeverAnswersIsClosedAfterTheCloseTimeout() throws {
        let (channel, loop, _) = try Self.channel(closeTimeout: .seconds(15))
        channel.pipeline.fireUserInboundEventTriggered(ChannelShouldQuiesceEvent())
        #expect(try Self.closeCode(try channel.readOutbound(as: WebSocketFrame.self)) == .normalClosure)
        loop.advanceTime(by: .seconds(14))
        #expect(channel.isActive)
        loop.advanceTime(by: .seconds(1))
        #expect(!channel.isActive)
        _ = try? channel.finish()
    }

    /// Messages (one fragmented), a binary one and an oversize one reach the session in the order sent;
    /// then no task is left for the idle connection; its close ends the session once.
    @Test func messagesReachTheSessionInOrderAndAnIdleConnectionKeepsNoTask() async throws {
        let session = RecordingSession()
        let tasks = WebSocketWriters()
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await tasks.run() }
            let (channel, _, inbox) = try Self.channel(session: session, tasks: tasks, maxMessageBytes: 16)
            inbox.open()
            try channel.writeInbound(Self.clientText(#"{"a":"#, fin: false))
            try channel.writeInbound(Self.clientFrame(.continuation, ByteBuffer(string: "1}")))
            try channel.writeInbound(Self.clientText("second"))
            try channel.writeInbound(Self.clientFrame(.binary, ByteBuffer(string: "bytes")))
            try channel.writeInbound(Self.clientText(String(repeating: "x", count: 17)))
            try channel.writeInbound(Self.clientText("third"))
            let expected: [RecordingSession.Event] = [
                .message(#"{"a":1}"#), .message("second"), .refusal(.invalidJSON), .refusal(.tooLarge), .message("third"),
            ]
            for _ in 0..<500 where session.events.count < expected.count || tasks.unfinishedJobs > 0 {
                try await Task.sleep(for: .milliseconds(10))
            }
            #expect(session.events == expected)
            #expect(tasks.unfinishedJobs == 0, "an idle connection has no task")

            try await channel.close().get()
            for _ in 0..<500 where session.events.last != .end || tasks.unfinishedJobs > 0 {
                try await Task.sleep(for: .milliseconds(10))
            }
            #expect(session.events == expected + [.end])
            #expect(tasks.unfinishedJobs == 0)
            group.cancelAll()
        }
    }
}
