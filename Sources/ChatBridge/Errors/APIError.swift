import Foundation

/// The one error type every layer throws when a request cannot be served.
///
/// Its ``Code`` values are the machine codes of PROTOCOL §1; the HTTP layer maps them to a
/// status and the WebSocket layer to an `error` frame, so both transports say the same thing.
public struct APIError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The machine-readable error codes of the wire contract.
    public enum Code: String, Sendable, Codable, CaseIterable {
        case invalidJSON = "invalid_json"
        case validationFailed = "validation_failed"
        case unauthorized
        case forbidden
        case notFound = "not_found"
        case rateLimited = "rate_limited"
        case tooLarge = "too_large"
        case conflict
        case providerError = "provider_error"
        case toolTimeout = "tool_timeout"
        case cancelled
        case unknownType = "unknown_type"
        /// A provider's queue is full or the wait for a slot timed out; carries `retry_after`.
        case overloaded
        case `internal`

        /// The HTTP status that carries this code.
        public var httpStatus: Int {
            switch self {
            case .invalidJSON, .validationFailed, .unknownType: 400
            case .unauthorized: 401
            case .forbidden: 403
            case .notFound: 404
            case .conflict: 409
            case .tooLarge: 413
            case .rateLimited: 429
            case .cancelled: 499
            case .providerError: 502
            case .toolTimeout: 504
            case .overloaded: 503
            case .internal: 500
            }
        }
    }

    /// Extra machine-readable fields sent beside `code` and `message` (for example `limit`,
    /// `used` and `resets_at` of a `rate_limited` error).
    public enum Detail: Sendable, Equatable {
        case int(Int)
        case string(String)
    }

    public var code: Code
    public var message: String
    public var details: [String: Detail]

    public init(_ code: Code, _ message: String, details: [String: Detail] = [:]) {
        self.code = code
        self.message = message
        self.details = details
    }

    public var description: String { "\(code.rawValue): \(message)" }
}

extension APIError {
    public static func notFound(_ what: String) -> APIError {
        APIError(.notFound, "\(what) was not found.")
    }

    public static func validation(_ message: String) -> APIError {
        APIError(.validationFailed, message)
    }

    public static func forbidden(_ message: String) -> APIError {
        APIError(.forbidden, message)
    }

    /// The daily message limit of a user is reached.
    public static func dailyLimitReached(limit: Int, used: Int, resetsAt: Date) -> APIError {
        APIError(
            .rateLimited,
            "Daily message limit of \(limit) reached; it resets at \(Timestamp.string(from: resetsAt)).",
            details: ["limit": .int(limit), "used": .int(used), "resets_at": .string(Timestamp.string(from: resetsAt))]
        )
    }
}
