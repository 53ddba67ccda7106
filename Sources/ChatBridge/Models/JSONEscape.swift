/// The escapes of a JSON string (RFC 8259 §7), decoded one way for both of AgentHost's JSON readers:
/// ``JSONParser`` and the OpenAI chunk reader's fast path.
enum JSONEscape {
    /// Why an escape could not be decoded.
    enum Failure: Error {
        case truncated
        case unknown
        case notHexadecimal
        case unpairedHighSurrogate
        case unpairedLowSurrogate

        var reason: String {
            switch self {
            case .truncated: "Unterminated escape in a string"
            case .unknown: "Unknown escape in a string"
            case .notHexadecimal: "A \\u escape needs four hexadecimal digits"
            case .unpairedHighSurrogate: "A high surrogate must be followed by a low one"
            case .unpairedLowSurrogate: "A low surrogate without a high one"
            }
        }
    }

    /// Appends the UTF-8 of the escape whose backslash is just before `position` to `output`, and
    /// moves `position` past it (past both halves of a surrogate pair).
    static func decode(_ bytes: UnsafeBufferPointer<UInt8>, at position: inout Int, into output: inout [UInt8]) throws(Failure) {
        guard position < bytes.count else { throw .truncated }
        let byte = bytes[position]
        position += 1
        switch byte {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): output.append(byte)
        case UInt8(ascii: "b"): output.append(0x08)
        case UInt8(ascii: "f"): output.append(0x0C)
        case UInt8(ascii: "n"): output.append(0x0A)
        case UInt8(ascii: "r"): output.append(0x0D)
        case UInt8(ascii: "t"): output.append(0x09)
        case UInt8(ascii: "u"):
            var scalar = try hexQuad(bytes, at: &position)
            if (0xD800..<0xDC00).contains(scalar) {
                guard bytes.count - position >= 6, bytes[position] == UInt8(ascii: "\\"), bytes[position + 1] == UInt8(ascii: "u")
                else { throw .unpairedHighSurrogate }
                position += 2
                let low = try hexQuad(bytes, at: &position)
                guard (0xDC00..<0xE000).contains(low) else { throw .unpairedHighSurrogate }
                scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
            } else if (0xDC00..<0xE000).contains(scalar) {
                throw .unpairedLowSurrogate
            }
            // Surrogates are handled above, so every value here is a scalar.
            output.append(contentsOf: UTF8.encode(Unicode.Scalar(scalar)!)!)
        default:
            throw .unknown
        }
    }

    private static func hexQuad(_ bytes: UnsafeBufferPointer<UInt8>, at position: inout Int) throws(Failure) -> UInt32 {
        guard bytes.count - position >= 4 else { throw .truncated }
        var value: UInt32 = 0
        for _ in 0..<4 {
            let byte = bytes[position]
            let digit: UInt8 = switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
            default: throw .notHexadecimal
            }
            value = value << 4 | UInt32(digit)
            position += 1
        }
        return value
    }
}
