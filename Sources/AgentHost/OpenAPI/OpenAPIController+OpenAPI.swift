import OpenAPIKit

extension OpenAPIController {
    static let openAPIOperations: [APIOperation] = [
        APIOperation(.get, "/openapi.json", id: "getOpenAPI", tag: "Meta", summary: "This OpenAPI 3.1 description",
                     description: "Public: no credentials needed.", access: .public,
                     responses: [200: .json("The OpenAPI document.", .object)]),
    ]
}
