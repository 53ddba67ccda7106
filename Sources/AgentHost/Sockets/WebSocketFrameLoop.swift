import ChatBridge
import NIOCore
import NIOWebSocket

/// The frame loop of both sockets, on the connection's event loop: answers pings, runs the close
/// handshake, assembles text messages and hands them to the connection's ``WebSocketInbox``.
///
/// It replaces WSCore's `WebSocketHandler`, which keeps a task per connection parked in a read
/// (with Hummingbird's upgrade frames above it, 15-18 KB of task-allocator slabs per idle socket,
/// measured with heaptrack). The wire behaviour is WSCore's: a ping is answered with a pong of the
/// same payload; a close frame is answered with a close (1000, or 1002 for a bad code) and the
/// connection closed; after a close frame goes out (any: this loop's, the 4001 of a slow client, a
/// failed open's 1011, the 1000 of a shutdown) the output is shut and the connection closed when the
/// client's close arrives, or `closeTimeout` after; a frame with reserved bits or opcodes, or a
/// fragmented ping, closes with 1002. Oversize and binary messages are refused with an `error`
/// frame and the socket stays open (PROTOCOL §1); frames past the decoder's limit are NIO's
/// protocol error handler's (1009). Pongs were already seen by ``WebSocketKeepAliveHandler``.
final class WebSocketFrameLoop: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = WebSocketFrame
    typealias OutboundIn = WebSocketFrame
    typealias OutboundOut = WebSocketFrame

    private let inbox: WebSocketInbox
    private let closeTimeout: TimeAmount
    private var reader: WebSocketMessageReader
    private let maxMessageBytes: Int
    private var closeSent = false
    private var closeReceived = false
    private var closeDeadline: Scheduled<Void>?

    init(inbox: WebSocketInbox, maxMessageBytes: Int, closeTimeout: Duration) {
        self.inbox = inbox
        self.maxMessageBytes = maxMessageBytes
        self.closeTimeout = .nanoseconds(closeTimeout.nanoseconds)
        reader = WebSocketMessageReader(maxBytes: maxMessageBytes)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        switch frame.opcode {
        case .connectionClose:
            receivedClose(frame, context: context)
        case .ping:
            guard frame.fin else { return close(context: context, code: .protocolError) }
            guard !closeSent else { return }
            let payload = frame.unmaskedData
            guard payload.readableBytes < 126 else { return close(context: context, code: .protocolError) }
            context.writeAndFlush(wrapOutboundOut(WebSocketFrame(fin: true, opcode: .pong, data: payload)), promise: nil)
        case .pong:
            guard frame.fin else { return close(context: context, code: .protocolError) }
        case .text, .binary, .continuation:
            guard frame.reservedBits.isEmpty else { return close(context: context, code: .protocolError) }
            guard !closeSent else { return }
            let item: WebSocketInbox.Item
            switch reader.consume(opcode: frame.opcode, fin: frame.fin, data: frame.unmaskedData) {
            case .incomplete: return
            case .tooLarge(let size):
                item = .refusal(APIError(.tooLarge, "The frame is \(size) bytes; the limit is \(maxMessageBytes)."))
            case .binary:
                item = .refusal(APIError(.invalidJSON, "Send JSON as text frames, not binary."))
            case .text(let bytes):
                item = .message(bytes)
            }
            if inbox.put(item) {
                // The session is behind: leave the rest in the socket until it catches up.
                try? context.channel.syncOptions?.setOption(ChannelOptions.autoRead, value: false)
            }
        default:
            close(context: context, code: .protocolError)
        }
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        guard !closeSent else {
            // Nothing goes out after a close frame (RFC 6455 §5.5.1).
            promise?.fail(ChannelError.outputClosed)
            return
        }
        guard unwrapOutboundIn(data).opcode == .connectionClose else { return context.write(data, promise: promise) }
        closeSent = true
        // A promise of this loop (the caller's may come from another), so the callbacks below may
        // touch `context` on it.
        let written = context.eventLoop.makePromise(of: Void.self)
        if let promise { written.futureResult.cascade(to: promise) }
        context.write(data, promise: written)
        if closeReceived {
            written.futureResult.assumeIsolated().whenComplete { _ in context.close(promise: nil) }
            return
        }
        // Wait for the client's close, but not for ever; no more is sent.
        written.futureResult.assumeIsolated().whenSuccess { context.close(mode: .output, promise: nil) }
        let loopBound = NIOLoopBound(context, eventLoop: context.eventLoop)
        closeDeadline = context.eventLoop.assumeIsolated().scheduleTask(in: closeTimeout) {
            loopBound.value.close(promise: nil)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        closeDeadline?.cancel()
        closeDeadline = nil
        inbox.connectionEnded()
        context.fireChannelInactive()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        switch event {
        case is ChannelShouldQuiesceEvent:
            // The server is shutting down: WSCore's graceful close.
            close(context: context, code: .normalClosure)
        case ChannelEvent.inputClosed:
            // The client shut its side without a close frame: as WSCore, close normally.
            close(context: context, code: .normalClosure)
        default:
            context.fireUserInboundEventTriggered(event)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }

    /// Sends a close frame (through ``write(context:data:promise:)``, which then waits for the client's).
    private func close(context: ChannelHandlerContext, code: WebSocketErrorCode) {
        guard !closeSent else { return }
        var data = context.channel.allocator.buffer(capacity: 2)
        data.write(webSocketErrorCode: code)
        write(context: context, data: wrapOutboundOut(WebSocketFrame(fin: true, opcode: .connectionClose, data: data)),
              promise: nil)
        context.flush()
    }

    /// The client's close: the handshake's end when ours went out first; else answered (WSCore's codes)
    /// and the connection closed.
    private func receivedClose(_ frame: WebSocketFrame, context: ChannelHandlerContext) {
        guard !closeReceived else { return }
        closeReceived = true
        if closeSent {
            context.close(promise: nil)
            return
        }
        guard frame.reservedBits.isEmpty else { return close(context: context, code: .protocolError) }
        var payload = frame.unmaskedData
        let size = payload.readableBytes
        let code: WebSocketErrorCode
        switch payload.readWebSocketErrorCode() {
        case .unknown(let number) where number < 3000 || number > 4999:
            code = .protocolError
        case .some:
            code = .normalClosure
        case .none:
            code = size == 0 ? .normalClosure : .protocolError
        }
        close(context: context, code: code)
    }
}
