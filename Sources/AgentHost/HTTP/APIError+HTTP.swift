import ChatBridge
import Hummingbird
import NIOCore

extension APIError: HTTPResponseError {
    public var status: HTTPResponse.Status { HTTPResponse.Status(code: code.httpStatus) }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        var headers: HTTPFields = [.contentType: "application/json; charset=utf-8"]
        if code == .unauthorized { headers[.wwwAuthenticate] = "Bearer" }
        // PROTOCOL §1: a 429 or 503 says when to retry.
        if let retryAfter = retryAfterSeconds { headers[.retryAfter] = String(retryAfter) }
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: httpBody())))
    }

    /// `{"error": {"code", "message", ...details}}` (PROTOCOL §1).
    func httpBody() -> [UInt8] {
        JSONValue.object(["error": .object(wireFields())]).serialized()
    }

    /// `{"type": "error", "code", "message", ...details, ...extra}` for WebSocket and SSE frames.
    func frame(_ extra: [String: JSONValue] = [:]) -> JSONValue {
        var fields = wireFields().merging(extra) { _, new in new }
        fields["type"] = .string("error")
        return .object(fields)
    }

    /// The error's fields inside a stream (an OpenAI error chunk): code, message, details and `retry_after`.
    var streamFields: [String: JSONValue] {
        var fields = wireFields()
        if let retryAfter = retryAfterSeconds { fields["retry_after"] = .int(retryAfter) }
        return fields
    }

    private func wireFields() -> [String: JSONValue] {
        var fields: [String: JSONValue] = ["code": .string(code.rawValue), "message": .string(message)]
        for (key, detail) in details {
            switch detail {
            case .int(let value): fields[key] = .number(Double(value))
            case .string(let value): fields[key] = .string(value)
            }
        }
        return fields
    }

    /// The contract's view of any error: API errors as they are, framework errors by their status,
    /// everything else as `internal` without leaking details.
    static func from(_ error: any Error) -> APIError {
        switch error {
        case let error as APIError:
            return error
        case let error as HTTPError:
            switch error.status.code {
            case 413: return APIError(.tooLarge, error.body ?? "The request body is too large.")
            case 404: return APIError(.notFound, "No route for this path.")
            case 405: return APIError(.notFound, "This route does not accept that method.")
            case 401: return APIError(.unauthorized, error.body ?? "Authentication required.")
            case 400..<500: return APIError(.validationFailed, error.body ?? "The request is not valid.")
            default: return APIError(.internal, "The server failed to handle the request.")
            }
        case is NIOTooManyBytesError:
            return APIError(.tooLarge, "The request body is too large.")
        case is CancellationError:
            return APIError(.cancelled, "The request was cancelled.")
        default:
            return APIError(.internal, "The server failed to handle the request.")
        }
    }
}
