import Hummingbird
import HummingbirdWebSocket
import Logging
import Synchronization

/// What an upgraded WebSocket's handler is given besides its frames: the logger of the upgrade request.
///
/// Deliberately not the upgrade `Request` and its request context (Hummingbird's
/// `WebSocketRouterContext`): those stay alive as long as the connection, about 1.5 KB of every
/// idle socket. A route takes what it needs from the request when it accepts the upgrade.
struct WebSocketConnectionContext: WebSocketContext {
    let logger: Logger
}

/// Serves one upgraded WebSocket, with what its route took from the upgrade request captured.
typealias WebSocketConnectionHandler = WebSocketDataHandler<WebSocketConnectionContext>

/// The handler a WebSocket route accepted an upgrade with, handed from the route to
/// ``WebSocketUpgradeChannel`` through the request context.
final class WebSocketRouteSlot: Sendable {
    struct Accepted: Sendable {
        let handler: WebSocketConnectionHandler
        let logger: Logger
    }

    private let accepted = Mutex<Accepted?>(nil)

    init() {}

    func accept(_ handler: @escaping WebSocketConnectionHandler, logger: Logger) {
        accepted.withLock { $0 = Accepted(handler: handler, logger: logger) }
    }

    /// The accepted handler, once.
    func take() -> Accepted? {
        accepted.withLock { accepted in
            defer { accepted = nil }
            return accepted
        }
    }
}

extension Router where Context == AppRequestContext {
    /// A WebSocket route served by ``WebSocketUpgradeChannel``: `accept` runs before the upgrade
    /// (through the WebSocket router's middleware) and either throws, which refuses the upgrade
    /// (400, no 101, as with Hummingbird's `ws`), or returns the handler of the upgraded connection.
    @discardableResult
    func webSocket(
        _ path: RouterPath,
        accept: @escaping @Sendable (Request, AppRequestContext) async throws -> WebSocketConnectionHandler
    ) -> Self {
        on(path, method: .get) { request, context -> Response in
            let handler = try await accept(request, context)
            context.webSocketRoute.accept(handler, logger: context.logger)
            return Response(status: .ok)
        }
    }
}
