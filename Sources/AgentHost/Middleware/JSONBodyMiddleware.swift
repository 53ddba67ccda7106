import ChatBridge
import Foundation
import Hummingbird

/// Refuses a request body that is not declared as JSON on routes that take JSON (all but document
/// uploads, which also take multipart). A browser can send `text/plain` across origins without a
/// preflight; requiring `application/json` means it must ask first.
struct JSONBodyMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        if Self.carriesBody(request), !DocumentsController.isUpload(request), !Self.isJSON(request.headers[.contentType]) {
            throw Self.notJSON(request)
        }
        return try await next(request, context)
    }

    /// Whether the request declares a body: a non-zero `Content-Length` (every browser "simple"
    /// request has one), or a chunked body with a declared type. A chunked body without a type may
    /// be empty (some clients stream even nothing); ``APIRequestDecoder`` checks it once read.
    static func carriesBody(_ request: Request) -> Bool {
        if let length = request.headers[.contentLength].flatMap(Int.init) { return length > 0 }
        return request.headers[.transferEncoding] != nil && request.headers[.contentType] != nil
    }

    static func notJSON(_ request: Request) -> APIError {
        let given = request.headers[.contentType].map { "'\($0)'" } ?? "none"
        return APIError(.invalidJSON,
                        "This route takes a JSON body sent with 'Content-Type: application/json'; the Content-Type was \(given).")
    }

    /// `application/json` or any `…/…+json` media type, with or without parameters.
    /// Compared byte by byte: every request with a body passes here, and Foundation's trimming and
    /// lowercasing cost more than the rest of the check.
    static func isJSON(_ contentType: String?) -> Bool {
        guard let contentType else { return false }
        var mediaType = contentType.utf8.prefix { $0 != UInt8(ascii: ";") }
        while let first = mediaType.first, first == UInt8(ascii: " ") || first == UInt8(ascii: "\t") { mediaType.removeFirst() }
        while let last = mediaType.last, last == UInt8(ascii: " ") || last == UInt8(ascii: "\t") { mediaType.removeLast() }
        func lowercased(_ byte: UInt8) -> UInt8 {
            (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte) ? byte + 32 : byte
        }
        let type = mediaType.lazy.map(lowercased)
        return type.elementsEqual("application/json".utf8)
            || (type.starts(with: "application/".utf8) && type.reversed().starts(with: "+json".utf8.reversed()))
    }
}
