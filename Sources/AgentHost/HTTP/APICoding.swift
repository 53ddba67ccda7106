import ChatBridge
import Foundation
import Hummingbird

/// The JSON dialect of the API: snake_case keys, RFC 3339 UTC dates.
enum APICoding {
    /// One of each for every request: they are `Sendable` and keep no state between calls, and
    /// making them (with their date closures) cost a measurable share of a small request.
    static let encoder = makeEncoder()
    static let decoder = makeDecoder()

    private static func makeEncoder() -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.dateEncodingStrategy = .custom { date, encoder in
            var container = encoder.singleValueContainer()
            try container.encode(Timestamp.string(from: date))
        }
        return encoder
    }

    private static func makeDecoder() -> JSONDecoder {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        decoder.dateDecodingStrategy = .custom { decoder in
            let container = try decoder.singleValueContainer()
            let text = try container.decode(String.self)
            guard let date = Timestamp.date(from: text) else {
                throw DecodingError.dataCorruptedError(in: container, debugDescription: "'\(text)' is not an RFC 3339 time.")
            }
            return date
        }
        return decoder
    }

    /// Decodes `bytes` as `T`, turning every failure into the contract's `invalid_json` or
    /// `validation_failed` with the field named as the client spelled it.
    static func decode<T: Decodable>(_ type: T.Type, from bytes: some Collection<UInt8>) throws -> T {
        guard !bytes.isEmpty else {
            throw APIError(.invalidJSON, "The request body is empty; send a JSON object.")
        }
        do {
            return try decoder.decode(T.self, from: Data(bytes))
        } catch let error as DecodingError {
            throw describe(error)
        }
    }

    static func describe(_ error: DecodingError) -> APIError {
        switch error {
        case .dataCorrupted(let context) where context.codingPath.isEmpty:
            return APIError(.invalidJSON, "The body is not valid JSON: \(context.debugDescription)")
        case .dataCorrupted(let context):
            return .validation("Field '\(path(context.codingPath))' is not valid: \(context.debugDescription)")
        case .keyNotFound(let key, let context):
            return .validation("Missing required field '\(path(context.codingPath + [key]))'.")
        case .valueNotFound(_, let context):
            return .validation("Field '\(path(context.codingPath))' must not be null.")
        case .typeMismatch(let type, let context):
            if context.codingPath.isEmpty {
                return APIError(.invalidJSON, "The body must be a JSON object.")
            }
            return .validation("Field '\(path(context.codingPath))' must be \(jsonTypeName(type)).")
        @unknown default:
            return APIError(.invalidJSON, "The body could not be decoded.")
        }
    }

    private static func path(_ keys: [any CodingKey]) -> String {
        keys.map { key in key.intValue.map { "[\($0)]" } ?? snakeCase(key.stringValue) }
            .joined(separator: ".")
            .replacingOccurrences(of: ".[", with: "[")
    }

    static func snakeCase(_ name: String) -> String {
        var result = ""
        for character in name {
            if character.isUppercase {
                if !result.isEmpty { result.append("_") }
                result.append(contentsOf: character.lowercased())
            } else {
                result.append(character)
            }
        }
        return result
    }

    private static func jsonTypeName(_ type: Any.Type) -> String {
        switch type {
        case is String.Type: "a string"
        case is Bool.Type: "a boolean"
        case is Int.Type, is Int64.Type: "an integer"
        case is Double.Type, is Float.Type: "a number"
        default:
            String(describing: type).hasPrefix("Array") ? "an array" : "an object"
        }
    }
}

/// Decodes request bodies with ``APICoding`` and the context's body limit.
struct APIRequestDecoder: RequestDecoder {
    func decode<T: Decodable>(_ type: T.Type, from request: Request, context: some RequestContext) async throws -> T {
        let buffer = try await request.body.collect(upTo: context.maxUploadSize)
        // The framing-independent half of ``JSONBodyMiddleware``: a body that is there must be JSON.
        if buffer.readableBytes > 0, !JSONBodyMiddleware.isJSON(request.headers[.contentType]) {
            throw JSONBodyMiddleware.notJSON(request)
        }
        return try APICoding.decode(T.self, from: buffer.readableBytesView)
    }
}

/// Encodes `nil` as JSON `null` instead of leaving the key out, as the contract's objects show every field.
@propertyWrapper
struct NullEncoded<Value: Encodable & Sendable>: Encodable, Sendable {
    var wrappedValue: Value?

    init(wrappedValue: Value?) {
        self.wrappedValue = wrappedValue
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        if let wrappedValue { try container.encode(wrappedValue) } else { try container.encodeNil() }
    }
}

/// A field of a PATCH body: left out, set to `null`, or set to a value.
enum PatchField<Value: Decodable & Sendable>: Sendable {
    case absent
    case null
    case value(Value)

    /// The new value of an optional setting, or `current` when the field was left out.
    func applied(to current: Value?) -> Value? {
        switch self {
        case .absent: current
        case .null: nil
        case .value(let value): value
        }
    }
}

extension KeyedDecodingContainer {
    func decodePatch<Value: Decodable & Sendable>(_ type: Value.Type, forKey key: Key) throws -> PatchField<Value> {
        guard contains(key) else { return .absent }
        if try decodeNil(forKey: key) { return .null }
        return .value(try decode(Value.self, forKey: key))
    }
}
