import Hummingbird
import Logging
import Synchronization

/// What a WebSocket route accepted an upgrade with, handed from the route to
/// ``WebSocketUpgradeChannel`` through the request context.
///
/// Deliberately not the upgrade `Request` and its request context (as Hummingbird's
/// `WebSocketRouterContext` keeps): those would stay alive as long as the connection. A route takes
/// what it needs from the request when it accepts, captured by its opener.
final class WebSocketRouteSlot: Sendable {
    struct Accepted: Sendable {
        /// Opens the connection's session once the upgrade is done.
        let opener: WebSocketSessionOpener
        let logger: Logger
        /// Larger messages are refused with an `error` frame (the socket stays open).
        let maxMessageBytes: Int
        /// Where the session's task runs while it has something to do.
        let tasks: WebSocketWriters
    }

    private let accepted = Mutex<Accepted?>(nil)

    init() {}

    func accept(_ accepted: Accepted) {
        self.accepted.withLock { $0 = accepted }
    }

    /// The accepted upgrade, once.
    func take() -> Accepted? {
        accepted.withLock { accepted in
            defer { accepted = nil }
            return accepted
        }
    }
}

extension Router where Context == AppRequestContext {
    /// A WebSocket route served by ``WebSocketUpgradeChannel``: `accept` runs before the upgrade
    /// (behind the WebSocket router's middleware) and either throws, which refuses the upgrade
    /// (400, no 101, as with Hummingbird's `ws`), or returns what opens the connection's session.
    @discardableResult
    func webSocket(
        _ path: RouterPath, maxMessageBytes: Int, tasks: WebSocketWriters,
        accept: @escaping @Sendable (Request, AppRequestContext) async throws -> WebSocketSessionOpener
    ) -> Self {
        on(path, method: .get) { request, context -> Response in
            let opener = try await accept(request, context)
            context.webSocketRoute.accept(.init(opener: opener, logger: context.logger, maxMessageBytes: maxMessageBytes,
                                                tasks: tasks))
            return Response(status: .ok)
        }
    }
}
