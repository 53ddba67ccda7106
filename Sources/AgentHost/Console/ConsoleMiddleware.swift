import ChatBridge
import Foundation
import Hummingbird
import Logging

/// Serves the web console (PROTOCOL §11) from its directory with Hummingbird's `FileMiddleware`
/// (ETag/If-None-Match, ranges, `index.html` for `/`), and adds what a page holding API tokens needs:
/// a Content-Security-Policy that allows only the own origin (no inline script or style, so model
/// output that slipped into the DOM could not run), `nosniff`, no framing and no referrer.
///
/// Requests the router answers (the API, `/metrics`, …) pass through untouched: `FileMiddleware`
/// only looks for a file when the router found no route.
struct ConsoleMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext

    /// Only the own origin: `connect-src 'self'` also covers same-origin `ws:`/`wss:` (CSP Level 3).
    static let contentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        + "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

    /// Path prefixes that belong to the API; never looked up as files.
    static let apiPrefixes = ["/api/", "/v1/", "/ws/"]

    let files: FileMiddleware<AppRequestContext, LocalFileSystem>

    init(directory: URL, logger: Logger) {
        files = FileMiddleware(directory.path, searchForIndexHtml: true, logger: logger)
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let path = request.uri.path
        guard request.method == .get || request.method == .head,
              !Self.apiPrefixes.contains(where: { path.hasPrefix($0) || path == $0.dropLast() })
        else {
            return try await next(request, context)
        }
        // A path that tries to leave the directory, or names a hidden file, is simply not there
        // (404, like any other missing file), rather than FileMiddleware's 400 for "..".
        guard let decoded = path.removingPercentEncoding,
              !decoded.contains("\\"), !decoded.contains("\0"),
              !decoded.split(separator: "/").contains(where: { $0.hasPrefix(".") })
        else {
            throw APIError.notFound("'\(path)'")
        }
        var response = try await files.handle(request, context: context, next: next)
        guard context.coreContext.endpointPath.value == "FileMiddleware" else { return response }
        response.headers[.contentSecurityPolicy] = Self.contentSecurityPolicy
        response.headers[.xContentTypeOptions] = "nosniff"
        response.headers[.init("X-Frame-Options")!] = "DENY"
        response.headers[.init("Referrer-Policy")!] = "no-referrer"
        // The files change with the checkout and carry no content hash in their names, so the browser
        // revalidates each time (a 304 from the ETag when nothing changed) instead of running stale code.
        response.headers[.cacheControl] = "no-cache"
        if let type = Self.contentType(of: path) { response.headers[.contentType] = type }
        return response
    }

    /// Explicit UTF-8 types for the console's own kinds of file (`text/javascript` is what the HTML
    /// standard names for module scripts); anything else keeps FileMiddleware's type.
    static func contentType(of path: String) -> String? {
        if path.hasSuffix("/") { return "text/html; charset=utf-8" }
        switch path.split(separator: ".").last {
        case "html": return "text/html; charset=utf-8"
        case "js", "mjs": return "text/javascript; charset=utf-8"
        case "css": return "text/css; charset=utf-8"
        case "svg": return "image/svg+xml"
        case "json": return "application/json; charset=utf-8"
        default: return nil
        }
    }
}
