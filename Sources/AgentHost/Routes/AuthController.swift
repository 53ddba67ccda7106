import ChatBridge
import Hummingbird

/// `POST /api/auth/login`: exchanges a username and password for a session token.
struct AuthController {
    let authenticator: Authenticator

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
        let (token, user) = try await authenticator.login(username: body.username, password: body.password)
        context.logger.info("login", metadata: ["user": "\(user.username)"])
        return LoginResponse(token: token, user: UserRepresentation(user))
    }
}
