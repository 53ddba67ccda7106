import OpenAPIKit

extension MetricsController {
    static let openAPIOperations: [APIOperation] = [
        APIOperation(.get, "/metrics", id: "getMetrics", tag: "Meta", summary: "Prometheus metrics", access: .public,
                     responses: [200: OpenAPI.Response(description: "Prometheus text exposition format 0.0.4.", content: [
                         .txt: .content(.string),
                     ])]),
    ]
}
