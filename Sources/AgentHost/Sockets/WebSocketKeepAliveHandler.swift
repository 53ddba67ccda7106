import NIOCore
import NIOWebSocket

/// Pings a WebSocket peer every `interval` on the connection's event loop, and closes the
/// connection (1001, "Ping timeout") when a ping is still unanswered one interval later.
///
/// It replaces WSCore's automatic ping, which keeps a task per connection sleeping between pings:
/// an open connection keeps every task it has, with the deepest stack that task reached (the task
/// allocator frees its slabs only when the task ends), which is most of what an idle socket costs.
/// Here a ping costs a timer on the event loop and this handler's few fields. The behaviour on the
/// wire is WSCore's: a 16-byte random ping, the connection closed when the matching pong is late.
///
/// It sits in the pipeline after the frame decoder, sees every inbound frame (and passes it on:
/// WSCore ignores a pong it did not ask for) and every outbound one: once a close frame went out or
/// came in, it stops.
final class WebSocketKeepAliveHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = WebSocketFrame
    typealias InboundOut = WebSocketFrame
    typealias OutboundIn = WebSocketFrame
    typealias OutboundOut = WebSocketFrame

    /// The ping payload size WSCore uses.
    static let pingDataSize = 16

    private let interval: TimeAmount
    private var timer: Scheduled<Void>?
    /// The payload of the ping not answered yet.
    private var awaitedPong: ByteBuffer?
    private var stopped = false

    init(interval: TimeAmount) {
        self.interval = interval
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { schedule(context: context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        schedule(context: context)
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        stop()
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        stop()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        switch frame.opcode {
        case .pong where frame.fin && awaitedPong != nil && frame.unmaskedData == awaitedPong:
            awaitedPong = nil
        case .connectionClose:
            stop()
        default:
            break
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if unwrapOutboundIn(data).opcode == .connectionClose { stop() }
        context.write(data, promise: promise)
    }

    private func stop() {
        stopped = true
        timer?.cancel()
        timer = nil
    }

    private func schedule(context: ChannelHandlerContext) {
        guard timer == nil, !stopped else { return }
        let loopBound = NIOLoopBound((handler: self, context: context), eventLoop: context.eventLoop)
        timer = context.eventLoop.assumeIsolated().scheduleTask(in: interval) {
            let (handler, context) = loopBound.value
            handler.timer = nil
            handler.tick(context: context)
        }
    }

    private func tick(context: ChannelHandlerContext) {
        guard !stopped, context.channel.isActive else { return }
        if awaitedPong != nil {
            stop()
            var reason = context.channel.allocator.buffer(capacity: 16)
            reason.write(webSocketErrorCode: .goingAway)
            reason.writeString("Ping timeout")
            let channel = context.channel
            context.writeAndFlush(wrapOutboundOut(WebSocketFrame(fin: true, opcode: .connectionClose, data: reason)))
                .whenComplete { _ in channel.close(promise: nil) }
            return
        }
        var payload = context.channel.allocator.buffer(capacity: Self.pingDataSize)
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<Self.pingDataSize { payload.writeInteger(UInt8.random(in: .min ... .max, using: &generator)) }
        awaitedPong = payload
        context.writeAndFlush(wrapOutboundOut(WebSocketFrame(fin: true, opcode: .ping, data: payload)), promise: nil)
        schedule(context: context)
    }
}

extension WebSocketKeepAliveHandler {
    /// Puts a keep-alive handler into an upgraded WebSocket connection's pipeline, after the frame
    /// decoder (so it sees decoded frames before the connection's reader does).
    static func install(on channel: any Channel, interval: Duration) async throws {
        let amount = TimeAmount.nanoseconds(interval.nanoseconds)
        try await channel.eventLoop.submit {
            let pipeline = channel.pipeline.syncOperations
            let decoder = try pipeline.handler(type: ByteToMessageHandler<WebSocketFrameDecoder>.self)
            try pipeline.addHandler(WebSocketKeepAliveHandler(interval: amount), position: .after(decoder))
        }.get()
    }
}
