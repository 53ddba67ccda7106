import ChatBridge
import Foundation
import Hummingbird
import HummingbirdWebSocket
import Logging
import NIOCore

/// The per-request state: who is asking and how large a body may be.
struct AppRequestContext: RequestContext {
    var coreContext: CoreRequestContextStorage
    /// Where a WebSocket route leaves the handler of the connection it accepts (``WebSocketUpgradeChannel``).
    let webSocketRoute: WebSocketRouteSlot
    /// Set by ``AuthMiddleware`` on every authenticated route.
    var principal: Principal?
    /// Set by ``RequestIDMiddleware`` from configuration.
    var bodyLimit: Int = Configuration.defaultMaxBodySize
    /// The connection, so a WebSocket that cannot keep up can be closed even when writes are stuck.
    let channel: any Channel

    init(source: Source) {
        coreContext = .init(source: source)
        webSocketRoute = WebSocketRouteSlot()
        channel = source.channel
    }

    var maxUploadSize: Int { bodyLimit }
    var requestDecoder: APIRequestDecoder { APIRequestDecoder() }
    var responseEncoder: JSONEncoder { APICoding.encoder }

    /// The authenticated caller; routes behind ``AuthMiddleware`` always have one.
    func identity() throws -> Principal {
        guard let principal else { throw APIError(.unauthorized, "Authentication required.") }
        return principal
    }
}
