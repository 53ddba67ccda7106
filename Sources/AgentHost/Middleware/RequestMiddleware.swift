import ChatBridge
import CoreMetrics
import Foundation
import Hummingbird
import Logging

/// Outermost middleware: applies the body limit, turns every error into the contract's JSON, tags
/// the response with the request id and logs one structured line per request.
struct RequestMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext
    let bodyLimit: Int
    let metrics: any MetricsFactory

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var context = context
        context.bodyLimit = bodyLimit
        let start = ContinuousClock.now
        var response: Response
        do {
            // Document uploads have their own, larger limit (base64 of the largest document), checked by their route.
            if let length = request.headers[.contentLength].flatMap(Int.init), length > bodyLimit,
               !DocumentsController.isUpload(request) {
                throw APIError(.tooLarge, "The request body is \(length) bytes; the limit is \(bodyLimit) bytes.")
            }
            response = try await next(request, context)
        } catch {
            let apiError = APIError.from(error)
            Counter(label: "agenthost_errors_total", dimensions: [("code", apiError.code.rawValue)], factory: metrics).increment()
            if apiError.code == .internal {
                context.logger.error("request failed", metadata: ["error": "\(String(reflecting: error))"])
            }
            response = try apiError.response(from: request, context: context)
        }
        response.headers[.init("X-Request-Id")!] = context.id
        Counter(label: "agenthost_http_requests_total",
                dimensions: [("method", request.method.rawValue), ("status", String(response.status.code))],
                factory: metrics).increment()
        let elapsed = start.duration(to: .now)
        context.logger.info("request", metadata: [
            "method": "\(request.method.rawValue)",
            "path": "\(request.uri.path)",
            "status": "\(response.status.code)",
            "duration_ms": "\(Double(elapsed.components.attoseconds) / 1e15 + Double(elapsed.components.seconds) * 1000)",
        ])
        return response
    }
}
