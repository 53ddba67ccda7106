import ChatBridge
import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import OpenAPIKit
import Testing

@testable import AgentHost

/// `GET /openapi.json` (PROTOCOL §10) is kept true by walking the real routers: every route the
/// server registers has an operation in the served document, and every operation has a route.
@Suite("OpenAPI description")
struct OpenAPIRouteTests {
    /// "METHOD /path" of every route of the HTTP and WebSocket routers, as Hummingbird registered them
    /// (a capture prints as `{name}`, OpenAPI's template syntax).
    ///
    /// Left out by rule: the web console's static files (PROTOCOL §11), which are not part of the
    /// API: `GET /` and any route with a wildcard (`*`, `**`) in its path, which is how files are served.
    static func registeredRoutes(_ harness: TestHarness) async throws -> Set<String> {
        var logger = Logger(label: "test")
        logger.logLevel = .warning
        let components = try await Components(configuration: harness.configuration, dependencies: harness.dependencies, logger: logger)
        let routes = components.httpRouter().routes + components.webSocketRouter().routes
        var described: Set<String> = []
        for route in routes {
            let path = route.path.description
            if route.method == .get, path == "/" || path.contains("*") { continue }
            described.insert("\(route.method.rawValue) \(path)")
        }
        return described
    }

    /// "METHOD /path" of every operation of a served OpenAPI document.
    static func documentedOperations(_ document: JSONValue) throws -> Set<String> {
        let methods = ["get", "put", "post", "delete", "options", "head", "patch", "trace"]
        guard case .object(let paths) = try #require(document["paths"]) else {
            Issue.record("paths is not an object")
            return []
        }
        var operations: Set<String> = []
        for (path, item) in paths {
            guard case .object(let item) = item else { continue }
            for method in methods where item[method] != nil {
                operations.insert("\(method.uppercased()) \(path)")
            }
        }
        return operations
    }

    @Test func everyRouteIsDocumentedAndEveryOperationIsARoute() async throws {
        let harness = try await TestHarness()
        let routes = try await Self.registeredRoutes(harness)
        let served = try await harness.test { client in
            try await client.send(.get, "/openapi.json").json
        }
        let documented = try Self.documentedOperations(served)
        // The walk found the routers' routes, not an empty list.
        #expect(routes.contains("GET /api/health"))
        #expect(routes.contains("POST /api/agent/invocations/{id}/cancel"))
        #expect(routes.contains("GET /ws/agent/{slug}"))
        #expect(routes.count >= 30)
        let undocumented = routes.subtracting(documented).sorted()
        let unrouted = documented.subtracting(routes).sorted()
        #expect(undocumented.isEmpty, "routes without an OpenAPI operation: \(undocumented)")
        #expect(unrouted.isEmpty, "OpenAPI operations without a route: \(unrouted)")
    }

    @Test func theDescriptionIsPublicValidOpenAPI31() async throws {
        let harness = try await TestHarness()
        try await harness.addUser("alice")  // multi-user mode: everything else needs credentials
        try await harness.test { client in
            for path in ["/openapi.json", "/openapi.json/"] {
                let response = try await client.send(.get, path)
                #expect(response.status == .ok)
                #expect(response.headers[.contentType] == "application/json")
                // Decoding and validating take seconds of CPU in a debug build: on a thread of their own,
                // not the cooperative pool (two threads here) nor NIO's shared one (file I/O), whose
                // stall starved the servers of the tests running beside this one.
                let body = Data(buffer: response.body)
                let document = try await withCheckedThrowingContinuation { continuation in
                    Thread {
                        continuation.resume(with: Result {
                            let document = try JSONDecoder().decode(OpenAPI.Document.self, from: body)
                            // OpenAPIKit's default validations: unique operation ids, declared path
                            // parameters, every reference resolves, every operation has a response.
                            try document.validate()
                            return document
                        })
                    }.start()
                }
                #expect(document.openAPIVersion == .v3_1_1)
                let securitySchemes = document.components.securitySchemes.keys.map(\.rawValue)
                #expect(Set(securitySchemes) == ["bearerJWT", "apiKey"])
            }
            let protected = try await client.send(.get, "/api/workspaces")
            #expect(protected.status == .unauthorized)
        }
    }

    @Test func everyOperationDocumentsTheErrorShape() async throws {
        let document = OpenAPIDescription.document()
        let errorSchema = APISchemas.ref("Error")
        var checked = 0
        for (path, item) in document.paths {
            let item = try #require(item.pathItemValue)
            for endpoint in item.endpoints {
                let responses = endpoint.operation.responses
                // Every route may answer 403 (browser boundary) and 500 with the §1 body.
                for status: OpenAPI.Response.StatusCode in [403, 500] {
                    let response = try #require(responses[status]?.responseValue, "\(endpoint.method) \(path) lacks \(status)")
                    #expect(response.content[.json]?.contentValue?.schema == errorSchema)
                }
                let isPublic = endpoint.operation.security == []
                let unauthorized: OpenAPI.Response.StatusCode = 401
                #expect(isPublic == (responses[unauthorized] == nil) || path.rawValue == "/api/auth/login",
                        "\(endpoint.method) \(path): 401 is documented exactly on the signed-in routes")
                checked += 1
            }
        }
        #expect(checked == OpenAPIDescription.operations.count)
    }
}
