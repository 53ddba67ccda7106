import ChatBridge
import OpenAPIKit

/// The error answers of PROTOCOL §1 as OpenAPI responses: one per HTTP status, naming the codes it
/// carries, all with the `Error` schema.
enum APIErrorDocs {
    /// The responses for `codes`, by status, in status order.
    static func responses(for codes: Set<APIError.Code>) -> [(OpenAPI.Response.StatusCode, OpenAPI.Response)] {
        let byStatus = Dictionary(grouping: codes, by: \.httpStatus)
        return byStatus.keys.sorted().map { status in
            let names = byStatus[status]!.map(\.rawValue).sorted()
            var headers: OpenAPI.Header.Map?
            if status == 429 || status == 503 {
                headers = ["Retry-After": .init(OpenAPI.Header(
                    schema: .integer(minimum: (0, exclusive: false)), description: "Seconds to wait before trying again.",
                    required: status == 503))]
            }
            if status == 401 {
                headers = ["WWW-Authenticate": .init(OpenAPI.Header(schema: .string, description: "`Bearer`.", required: true))]
            }
            let response = OpenAPI.Response.json(
                "Error (\(names.map { "`\($0)`" }.joined(separator: ", "))): \(summary(status))",
                APISchemas.ref("Error"), headers: headers)
            return (OpenAPI.Response.StatusCode(integerLiteral: status), response)
        }
    }

    private static func summary(_ status: Int) -> String {
        switch status {
        case 400: "the body is not JSON, or a field or query parameter is not valid."
        case 401: "no valid credentials (multi-user mode): send `Authorization: Bearer <JWT or API key>`."
        case 403: "not allowed for this caller, a suspended account, or a browser request from a foreign `Origin`/`Host`."
        case 404: "the resource does not exist or is not the caller's."
        case 409: "the request conflicts with the current state."
        case 413: "the body is larger than the limit."
        case 429: "a daily message limit, a fair-use cap or the login throttle; see `Retry-After` where given."
        case 499: "the request was cancelled."
        case 500: "the server failed; the message carries no details."
        case 502: "the model provider failed."
        case 503: "the provider's queue is full or the wait for a slot timed out; see `Retry-After`."
        case 504: "a tool timed out."
        default: "see the code."
        }
    }
}
