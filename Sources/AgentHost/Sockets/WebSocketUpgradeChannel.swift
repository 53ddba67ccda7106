import HTTPTypes
import Hummingbird
import HummingbirdCore
import HummingbirdWebSocket
import Logging
import NIOCore
import NIOHTTP1
import NIOHTTPTypes
import NIOHTTPTypesHTTP1
import NIOWebSocket

/// HTTP/1 with the WebSocket upgrade, as Hummingbird's `HTTP1WebSocketUpgradeChannel` (whose setup
/// this follows), but an upgraded WebSocket keeps no task: it is served on its event loop by
/// ``WebSocketFrameLoop``, and its session runs in a short-lived task only while it has messages.
///
/// An open connection's task keeps the deepest stack it ever reached (the Swift task allocator frees
/// a task's slabs only when the task ends): with Hummingbird's upgrade channel and WSCore's handler,
/// 15-18 KB of every idle socket, parked in a read. Hummingbird's WebSocket context also keeps the
/// upgrade `Request` and request context for the connection's life; here a route keeps only what its
/// opener captures. Refused upgrades answer 400 and a later request on a keep-alive connection
/// asking for an upgrade is redirected to a new connection, as Hummingbird does. WebSocket
/// extensions (compression) are not negotiated, and pings are ``WebSocketKeepAliveHandler``'s.
struct WebSocketUpgradeChannel<WebSocketResponder: HTTPResponder>: ServerChildChannel, HTTPChannelHandler
where WebSocketResponder.Context == AppRequestContext {
    enum UpgradeResult: Sendable {
        case webSocket(Logger)
        case notUpgraded(NIOAsyncChannel<HTTPRequestPart, HTTPResponsePart>)
        case failedUpgrade(NIOAsyncChannel<HTTPRequestPart, HTTPResponsePart>, Logger)
    }

    struct Value: ServerChildChannelValue {
        let upgradeResult: EventLoopFuture<UpgradeResult>
        let channel: any Channel
    }

    let responder: HTTPChannelHandler.Responder
    let webSocketResponder: WebSocketResponder
    let http1: HTTP1Channel.Configuration
    let webSocket: WebSocketServerConfiguration
    /// How many connections may be set up at once.
    let admission: ConnectionAdmission

    init(responder: @escaping HTTPChannelHandler.Responder, webSocketResponder: WebSocketResponder,
         http1: HTTP1Channel.Configuration, webSocket: WebSocketServerConfiguration, admission: ConnectionAdmission) {
        self.responder = Self.redirectingUpgrades(responder)
        self.webSocketResponder = webSocketResponder
        self.http1 = http1
        self.webSocket = webSocket
        self.admission = admission
    }

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        channel.eventLoop.makeCompletedFuture {
            let upgradeAttempted = NIOLoopBoundBox(false, eventLoop: channel.eventLoop)
            // Counted from now until its first request reached the HTTP loop, or its WebSocket
            // session has opened (opening is part of the work a burst of connects piles up).
            let place = admission.admit(channel)
            var logger = logger
            logger[metadataKey: "hb.request.id"] = .stringConvertible(RequestID())
            let accepted = NIOLoopBoundBox<WebSocketRouteSlot.Accepted?>(nil, eventLoop: channel.eventLoop)
            let upgrader = NIOTypedWebSocketServerUpgrader<UpgradeResult>(
                maxFrameSize: webSocket.maxFrameSize,
                shouldUpgrade: { [logger] channel, head in
                    upgradeAttempted.value = true
                    let request: HTTPRequest
                    do {
                        request = try HTTPRequest(head, secure: false, splitCookie: false)
                    } catch {
                        return channel.eventLoop.makeFailedFuture(error)
                    }
                    return shouldUpgrade(request, channel: channel, logger: logger).map { result in
                        accepted.value = result.map { $0.accepted }
                        return result.map { HTTPHeaders($0.headers) }
                    }
                },
                upgradePipelineHandler: { [webSocket] channel, _ in
                    channel.eventLoop.makeCompletedFuture {
                        guard let accepted = accepted.value else { throw ChannelError.inappropriateOperationForState }
                        try Self.installFrameLoop(on: channel, accepted: accepted, configuration: webSocket, opened: place.leave)
                        return UpgradeResult.webSocket(accepted.logger)
                    }
                })
            let upgrades = NIOTypedHTTPServerUpgradeConfiguration(
                upgraders: [upgrader],
                notUpgradingCompletionHandler: { [http1, logger] channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(HTTP1ToHTTPServerCodec(secure: false))
                        try channel.pipeline.syncOperations.addHandlers(http1.additionalChannelHandlers())
                        try channel.pipeline.syncOperations.addHandler(
                            HTTPConnectionStateHandler(idleTimeout: http1.idleTimeout.map { .init($0) }, logger: logger))
                        let asyncChannel = try NIOAsyncChannel<HTTPRequestPart, HTTPResponsePart>(
                            wrappingChannelSynchronously: channel, configuration: .init(isOutboundHalfClosureEnabled: true))
                        return upgradeAttempted.value ? .failedUpgrade(asyncChannel, logger) : .notUpgraded(asyncChannel)
                    }
                })
            var configuration = NIOUpgradableHTTPServerPipelineConfiguration<UpgradeResult>(upgradeConfiguration: upgrades)
            configuration.enablePipelining = false  // HTTP is pipelined by NIOAsyncChannel
            configuration.enableErrorHandling = false  // handled by Hummingbird
            configuration.enableResponseHeaderValidation = false  // HTTPTypes validates
            configuration.decoderConfiguration.maxHeaderFieldSize = http1.httpDecoder.maxHeaderFieldSize
            configuration.decoderConfiguration.maxHeaderListSize = http1.httpDecoder.maxHeaderListSize
            configuration.decoderConfiguration.maxHeaderFieldCount = http1.httpDecoder.maxHeaderFieldCount
            let result = try channel.pipeline.syncOperations.configureUpgradableHTTPServerPipeline(configuration: configuration)
            Self.close(channel, ifUndecided: result, after: http1.idleTimeout)
            result.whenComplete { result in
                // An upgraded connection gives its place back once its session has opened.
                if case .success(.webSocket) = result { return }
                place.leave()
            }
            return Value(upgradeResult: result, channel: channel)
        }
    }

    /// A head the parser refuses (garbage, a bad version, a header line over the limit) leaves the
    /// upgrade undecided for ever: nothing passes the parser's error on, and the head's deadline has
    /// left once its blank line arrived. Such a connection is closed after the idle timeout.
    private static func close(_ channel: any Channel, ifUndecided result: EventLoopFuture<UpgradeResult>, after timeout: TimeAmount?) {
        guard let timeout else { return }
        let undecided = channel.eventLoop.scheduleTask(in: timeout) { channel.close(promise: nil) }
        result.whenComplete { _ in undecided.cancel() }
    }

    /// Runs the upgrade request through the WebSocket router in a short-lived task; a route that
    /// accepts leaves its connection handler in the request context. `nil` refuses the upgrade.
    private func shouldUpgrade(_ head: HTTPRequest, channel: any Channel, logger: Logger)
        -> EventLoopFuture<(headers: HTTPFields, accepted: WebSocketRouteSlot.Accepted)?> {
        let promise = channel.eventLoop.makePromise(of: (headers: HTTPFields, accepted: WebSocketRouteSlot.Accepted)?.self)
        promise.completeWithTask { [webSocketResponder] in
            let request = Request(head: head, body: .init(buffer: .init()))
            let context = AppRequestContext(source: .init(channel: channel, logger: logger))
            do {
                let response = try await webSocketResponder.respond(to: request, context: context)
                guard response.status == .ok, let accepted = context.webSocketRoute.take() else { return nil }
                return (response.headers, accepted)
            } catch {
                return nil
            }
        }
        return promise.futureResult
    }

    func handle(value: Value, logger: Logger) async {
        do {
            // A future does not end with the task: when shutdown cancels the server's connections, one
            // still waiting for its first request is closed, or the process would wait for it.
            let result = try await withTaskCancellationHandler {
                try await value.upgradeResult.get()
            } onCancel: {
                value.channel.close(promise: nil)
            }
            switch result {
            case .notUpgraded(let http1):
                await serveHTTP(http1, logger: logger)
            case .failedUpgrade(let http1, let logger):
                logger.debug("Websocket upgrade failed")
                await refuseUpgrade(http1)
            case .webSocket(let logger):
                // Served on the event loop from now on (WebSocketFrameLoop): the task ends here.
                logger.debug("Websocket upgrade")
            }
        } catch let error as ChannelError where error == .inputClosed {
            logger.trace("Upgrade failed as input was closed")
        } catch {
            logger.error("Error handling upgrade result", metadata: ["error.type": .string("\(error)")])
        }
    }

    /// Kept out of `handle(value:)`: inlined there, the HTTP loop's state would be part of the frame
    /// every open WebSocket keeps.
    @inline(never)
    private func serveHTTP(_ http1: NIOAsyncChannel<HTTPRequestPart, HTTPResponsePart>, logger: Logger) async {
        await handleHTTP(asyncChannel: http1, logger: logger)
    }

    /// Hands the upgraded connection to the frame loop both sockets share and opens its session;
    /// `opened` runs on the connection's loop once the session has opened or failed to.
    private static func installFrameLoop(on channel: any Channel, accepted: WebSocketRouteSlot.Accepted,
                                         configuration: WebSocketServerConfiguration,
                                         opened: @escaping @Sendable () -> Void) throws {
        let connection = WebSocketConnection(
            channel: channel, logger: accepted.logger,
            outbound: WebSocketTextWriter(channel: channel, maxFrameSize: configuration.maxFrameSize))
        let inbox = WebSocketInbox(connection: connection, opener: accepted.opener, tasks: accepted.tasks) { error in
            channel.eventLoop.execute(opened)
            guard let error else { return }
            // As WSCore when a socket's handler throws: 1011.
            accepted.logger.debug("WebSocket session failed to open", metadata: ["error.type": "\(error)"])
            var data = channel.allocator.buffer(capacity: 2)
            data.write(webSocketErrorCode: .unexpectedServerError)
            channel.writeAndFlush(WebSocketFrame(fin: true, opcode: .connectionClose, data: data), promise: nil)
        }
        try channel.pipeline.syncOperations.addHandler(
            WebSocketFrameLoop(inbox: inbox, maxMessageBytes: accepted.maxMessageBytes, closeTimeout: configuration.closeTimeout))
        inbox.open()
    }

    /// An upgrade the WebSocket router refused: an empty 400 and close, as Hummingbird answers.
    @inline(never)
    private func refuseUpgrade(_ http1: NIOAsyncChannel<HTTPRequestPart, HTTPResponsePart>) async {
        do {
            try await http1.executeThenClose { _, outbound in
                let head = HTTPResponse(status: .badRequest, headerFields: [.connection: "close", .contentLength: "0"])
                try await outbound.write(contentsOf: [.head(head), .end(nil)])
            }
        } catch {
            // The client went away first.
        }
    }

    /// NIO upgrades only a connection's first request: a later request asking for a WebSocket is
    /// redirected to its own URI with `Connection: close`, so the client retries on a new connection.
    private static func redirectingUpgrades(_ responder: @escaping HTTPChannelHandler.Responder) -> HTTPChannelHandler.Responder {
        return { request, responseWriter, channel in
            guard request.headers[.upgrade] == "websocket" else {
                return try await responder(request, responseWriter, channel)
            }
            var path = request.uri.path
            if let query = request.uri.query { path += "?\(query)" }
            let response = HTTPResponse(status: .temporaryRedirect, headerFields: [.connection: "close", .location: path])
            try await responseWriter.writeResponse(response)
            throw RedirectCloseError()
        }
    }
}

/// Ends a keep-alive connection after its redirect (``WebSocketUpgradeChannel``).
private struct RedirectCloseError: Error {}
