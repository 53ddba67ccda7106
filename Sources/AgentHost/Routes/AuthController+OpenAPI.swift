import OpenAPIKit

extension AuthController {
    static let openAPIOperations: [APIOperation] = [
        APIOperation(
            .post, "/api/auth/login", id: "login", tag: "Auth", summary: "Sign in (multi-user mode)",
            description: "Exchanges a username and password for a session JWT. Failed logins are throttled per username and "
                + "client address (`429` with `Retry-After`). A suspended account gets `403`.",
            access: .public,
            body: .json(.object(properties: ["username": .string, "password": .string])),
            responses: [200: .json("A session token and the user.", .object(properties: [
                "token": .string(description: "JWT (HS256); send as `Authorization: Bearer <token>`."),
                "user": APISchemas.ref("User"),
            ]))],
            errors: [.unauthorized, .rateLimited]),
    ]
}
