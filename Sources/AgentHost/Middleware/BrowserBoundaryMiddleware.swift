import ChatBridge
import Hummingbird

/// Applies the ``BrowserPolicy`` to every HTTP request and WebSocket upgrade, before auth and routing,
/// so that a web page the user visits cannot drive the API (CSRF, WebSocket hijacking) nor reach it
/// under a name of its own (DNS rebinding).
struct BrowserBoundaryMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext
    let policy: BrowserPolicy
    let accounts: any AccountStore

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        // The store is asked only for a Host that is neither loopback nor listed: ordinary requests pay nothing.
        if let host = request.head.authority, !policy.isTrusted(host: host), try await !accounts.hasUsers() {
            throw BrowserPolicy.foreignHost(host)
        }
        try policy.checkOrigin(of: request)
        return try await next(request, context)
    }
}
