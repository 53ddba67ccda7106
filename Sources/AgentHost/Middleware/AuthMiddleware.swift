import ChatBridge
import Hummingbird

/// Authenticates every request of the routes it guards and records the caller in the context.
struct AuthMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext
    let authenticator: Authenticator

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var context = context
        context.principal = try await authenticator.authenticate(bearer: Self.credential(of: request))
        if let username = context.principal?.username {
            context.logger[metadataKey: "user"] = .string(username)
        }
        return try await next(request, context)
    }

    /// The bearer token from the `Authorization` header, or from `?token=` (browsers cannot set
    /// headers on WebSocket requests).
    static func credential(of request: Request) -> String? {
        if let header = request.headers[.authorization] {
            let parts = header.split(separator: " ", maxSplits: 1)
            if parts.count == 2, parts[0].lowercased() == "bearer" {
                return parts[1].trimmingCharacters(in: .whitespaces)
            }
            return header
        }
        return request.uri.queryParameters.get("token")
    }
}
