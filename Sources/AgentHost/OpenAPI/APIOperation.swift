import ChatBridge
import OpenAPIKit

/// One documented route of the OpenAPI description: its method, its path as Hummingbird prints a
/// route (`/api/workspaces/{slug}`, which is OpenAPI's template syntax too) and the operation.
///
/// Each controller lists its own in `XController+OpenAPI.swift`; ``OpenAPIDescription`` gathers them,
/// and `OpenAPIRouteTests` fails when a route of the router has none or an operation has no route.
struct APIOperation: Sendable {
    var method: OpenAPI.HttpMethod
    var path: String
    var operation: OpenAPI.Operation

    /// Who may call a route.
    enum Access: Sendable {
        /// No credentials at all (health, login, metrics, this description).
        case `public`
        /// A bearer JWT or API key in multi-user mode; nothing in single-user mode (PROTOCOL §2).
        case signedIn
    }

    /// An operation with the contract's error answers filled in: every route may answer `403`
    /// (the browser boundary refuses foreign `Origin`/`Host` headers before routing) and `500`;
    /// signed-in routes `401`; routes with a body or query parameters `400`; routes with a body `413`.
    /// `errors` adds the codes particular to the route.
    init(
        _ method: OpenAPI.HttpMethod, _ path: String, id: String, tag: String, summary: String, description: String? = nil,
        access: Access = .signedIn, parameters: [OpenAPI.Parameter] = [], body: OpenAPI.Request? = nil,
        responses: OrderedDictionary<OpenAPI.Response.StatusCode, OpenAPI.Response>, errors: [APIError.Code] = []
    ) {
        var codes = Set(errors)
        codes.insert(.forbidden)
        codes.insert(.internal)
        if access == .signedIn { codes.insert(.unauthorized) }
        if body != nil || parameters.contains(where: { $0.location == .query }) { codes.insert(.validationFailed) }
        if body != nil {
            codes.insert(.tooLarge)
            codes.insert(.invalidJSON)
        }
        var map: OpenAPI.Response.Map = [:]
        for (status, response) in responses { map[status] = .init(response) }
        for (status, response) in APIErrorDocs.responses(for: codes) where map[status] == nil {
            map[status] = .init(response)
        }
        self.method = method
        self.path = path
        self.operation = OpenAPI.Operation(
            tags: [tag], summary: summary, description: description, operationId: id,
            parameters: parameters.map { .init($0) }, requestBody: body, responses: map,
            security: access == .public ? [] : nil)
    }
}

// MARK: - Building blocks for the `+OpenAPI` files

extension OpenAPI.Response {
    /// A JSON answer whose body is `schema`.
    static func json(_ description: String, _ schema: JSONSchema, headers: OpenAPI.Header.Map? = nil) -> OpenAPI.Response {
        OpenAPI.Response(description: description, headers: headers, content: [.json: .content(schema)])
    }

    /// A server-sent event stream of run frames: `event: <type>` / `id: <seq>` / `data: <json frame>`
    /// blocks, and `:` keep-alive comments. OpenAPI 3.1 has no way to type the items of a stream; the
    /// schema describes ONE event (the convention of OpenAPI 3.2's `itemSchema`, which schemathesis
    /// applies to 3.1 documents too), and `description` says what the frames are.
    /// `events`: the `event:` names the stream uses; empty when its events carry only `id:` and `data:`.
    static func eventStream(_ description: String, events: [String] = []) -> OpenAPI.Response {
        OpenAPI.Response(description: description, content: [
            .eventStream: .content(.object(
                description: "One event of the stream (the body is `text/event-stream`).",
                properties: [
                    "event": .string(required: false, description: "The frame's `type`.",
                                     allowedValues: events.isEmpty ? nil : events.map { AnyCodable($0) }),
                    "id": .string(required: false, description: "The frame's `seq`.", pattern: "^[0-9]+$"),
                    "data": .string(description: "The frame, as JSON.",
                                    contentMediaType: .json),
                    "retry": .integer(required: false),
                ])),
        ])
    }

    /// No body.
    static func empty(_ description: String) -> OpenAPI.Response {
        OpenAPI.Response(description: description)
    }
}

extension OpenAPI.Request {
    /// A required JSON body.
    static func json(_ schema: JSONSchema, description: String? = nil, required: Bool = true) -> OpenAPI.Request {
        OpenAPI.Request(description: description, content: [.json: .content(schema)], required: required)
    }
}

extension OpenAPI.Parameter {
    /// A path parameter of the route (`{name}` in its path).
    static func path(_ name: String, _ description: String, schema: JSONSchema = .string) -> OpenAPI.Parameter {
        .path(name: name, schema: schema, description: description)
    }

    /// An optional query parameter.
    static func query(_ name: String, _ description: String, schema: JSONSchema = .string, required: Bool = false) -> OpenAPI.Parameter {
        .query(name: name, required: required, schema: schema, description: description)
    }
}

extension Either where A == OpenAPI.Reference<OpenAPI.Content>, B == OpenAPI.Content {
    /// A media type of a body whose schema is `schema`.
    static func content(_ schema: JSONSchema) -> Self {
        .init(OpenAPI.Content(schema: schema))
    }
}
