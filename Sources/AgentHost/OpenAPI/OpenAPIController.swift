import Hummingbird
import NIOCore

/// `GET /openapi.json`: the OpenAPI description of the REST API, public, encoded once.
struct OpenAPIController {
    let body: ByteBuffer

    init() throws {
        body = ByteBuffer(bytes: try OpenAPIDescription.encoded())
    }

    func addRoutes(to router: Router<AppRequestContext>) {
        router.get("openapi.json") { _, _ in
            Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: body))
        }
    }
}
