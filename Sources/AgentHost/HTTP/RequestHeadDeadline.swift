import ChatBridge
import Hummingbird
import HummingbirdCore
import HummingbirdWebSocket
import Logging
import NIOCore

/// Closes a connection whose first request head is not complete within `timeout` of connecting.
///
/// Hummingbird's HTTP/1 idle timeout only starts once a request head has been parsed (with the
/// WebSocket upgrade channel its handler is added after the head), so a client trickling a partial
/// head ("slowloris") would hold the connection for ever. This handler sits first in the pipeline,
/// sees the raw bytes, and leaves once the head's blank line has arrived; later requests on the
/// connection are covered by the HTTP idle timeout, and an upgraded WebSocket by its own pings.
final class RequestHeadDeadlineHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    private let timeout: TimeAmount
    private var deadline: Scheduled<Void>?
    /// The last two bytes seen, to find the end of the head (`\n\n` or `\n\r\n`) across reads.
    private var previous: (UInt8, UInt8) = (0, 0)
    private var headComplete = false

    init(timeout: TimeAmount) {
        self.timeout = timeout
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { arm(context: context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        arm(context: context)
        context.fireChannelActive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        deadline?.cancel()
        deadline = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if !headComplete {
            let buffer = unwrapInboundIn(data)
            for byte in buffer.readableBytesView {
                if byte == UInt8(ascii: "\n"), previous.1 == UInt8(ascii: "\n")
                    || (previous.1 == UInt8(ascii: "\r") && previous.0 == UInt8(ascii: "\n")) {
                    headComplete = true
                    break
                }
                previous = (previous.1, byte)
            }
        }
        context.fireChannelRead(data)
        // Its job is done once the head is in: leave the read path of the connection (and of the
        // WebSocket it may become). handlerRemoved cancels the deadline.
        if headComplete {
            context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
        }
    }

    /// The server is stopping: a connection that has not sent a complete request head has nothing in
    /// progress, and nothing else would close it (the handlers that honour quiescing are added with
    /// its first request), so the server's drain would wait for it until the deadline, past the
    /// shutdown timeout.
    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        guard event is ChannelShouldQuiesceEvent, !headComplete else { return context.fireUserInboundEventTriggered(event) }
        context.close(promise: nil)
    }

    private func arm(context: ChannelHandlerContext) {
        guard deadline == nil, !headComplete else { return }
        let loopBound = NIOLoopBound(context, eventLoop: context.eventLoop)
        deadline = context.eventLoop.assumeIsolated().scheduleTask(in: timeout) {
            loopBound.value.close(promise: nil)
        }
    }
}

/// A child channel that installs a ``RequestHeadDeadlineHandler`` in front of another one.
struct RequestHeadDeadlineChannel<Base: ServerChildChannel>: ServerChildChannel {
    typealias Value = Base.Value
    let base: Base
    let timeout: TimeAmount

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        do {
            try channel.pipeline.syncOperations.addHandler(RequestHeadDeadlineHandler(timeout: timeout))
        } catch {
            return channel.eventLoop.makeFailedFuture(error)
        }
        return base.setup(channel: channel, logger: logger)
    }

    func handle(value: Value, logger: Logger) async {
        await base.handle(value: value, logger: logger)
    }
}

extension HTTPServerBuilder {
    /// HTTP/1 with WebSocket upgrade where every connection must send its first request head within
    /// `idleTimeout` and is closed after `idleTimeout` without a request, and `admission` bounds the
    /// connections being set up at once.
    static func http1WebSocketUpgrade<WebSocketRouter: HTTPResponderBuilder & _HB_SendableMetatype>(
        webSocketRouter: WebSocketRouter, webSocket: WebSocketServerConfiguration, idleTimeout: Duration,
        admission: ConnectionAdmission
    ) -> HTTPServerBuilder where WebSocketRouter.Responder.Context == AppRequestContext {
        let webSocketResponder = webSocketRouter.buildResponder()
        let timeout = TimeAmount.nanoseconds(idleTimeout.nanoseconds)
        return HTTPServerBuilder { responder in
            ReceiveBufferChannel(base: RequestHeadDeadlineChannel(
                base: WebSocketUpgradeChannel(
                    responder: responder, webSocketResponder: webSocketResponder,
                    http1: .init(idleTimeout: timeout), webSocket: webSocket, admission: admission),
                timeout: timeout))
        }
    }
}
