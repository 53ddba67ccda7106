import ChatBridge
import Hummingbird

/// `POST /api/auth/login`: exchanges a username and password for a session token.
struct AuthController {
    let authenticator: Authenticator
    /// Failed logins per username and client address; beyond the limits `429 rate_limited`.
    let throttle: LoginThrottle

    struct LoginRequest: Decodable {
        var username: String
        var password: String
    }

    struct LoginResponse: ResponseEncodable {
        var token: String
        var user: UserRepresentation
    }

    func addRoutes(to group: RouterGroup<AppRequestContext>) {
        group.post("login", use: login)
    }

    @Sendable func login(_ request: Request, context: AppRequestContext) async throws -> LoginResponse {
        let body = try await request.decode(as: LoginRequest.self, context: context)
        // The peer address: a proxy in front would make every client one address, so the per-user
        // limit still holds there; the per-address limit is then the proxy's.
        let address = context.channel.remoteAddress?.ipAddress ?? "unknown"
        let attempt = try await throttle.admit(username: body.username, address: address)
        let token: String, user: User
        do {
            (token, user) = try await authenticator.login(username: body.username, password: body.password)
        } catch {
            if APIError.from(error).code == .unauthorized { await throttle.failed(attempt) }
            throw error
        }
        throttle.succeeded(attempt)
        context.logger.info("login", metadata: ["user": "\(user.username)"])
        return LoginResponse(token: token, user: UserRepresentation(user))
    }
}
