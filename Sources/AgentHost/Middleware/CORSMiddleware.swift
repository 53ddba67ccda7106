import Hummingbird

/// CORS for the origins of `--allowed-origins` only: answers their preflight requests and tags their
/// responses. Other origins get no CORS headers (and ``BrowserBoundaryMiddleware`` refuses them).
struct CORSMiddleware<Context: RequestContext>: RouterMiddleware {
    let policy: BrowserPolicy
    /// How long a browser may cache a preflight answer.
    var maxAge = 600

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let origin = request.headers[.origin], policy.isListed(origin: origin) else {
            return try await next(request, context)
        }
        var response: Response
        if request.method == .options, request.headers[.accessControlRequestMethod] != nil {
            response = Response(status: .noContent)
            response.headers[.accessControlAllowMethods] = "GET, POST, PUT, PATCH, DELETE, OPTIONS"
            response.headers[.accessControlAllowHeaders] =
                request.headers[.accessControlRequestHeaders] ?? "Authorization, Content-Type"
            response.headers[.accessControlMaxAge] = String(maxAge)
        } else {
            response = try await next(request, context)
            response.headers[.accessControlExposeHeaders] = "X-Request-Id, Retry-After, Content-Disposition"
        }
        response.headers[.accessControlAllowOrigin] = origin
        response.headers[.vary] = "Origin"
        return response
    }
}
