import OpenAPIKit

extension HealthController {
    static let openAPIOperations: [APIOperation] = [
        APIOperation(.get, "/api/health", id: "getHealth", tag: "Meta", summary: "Liveness", access: .public,
                     responses: [200: .json("The server is up.", .object(properties: ["status": .string(allowedValues: "ok")]))]),
    ]
}
