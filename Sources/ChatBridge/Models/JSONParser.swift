/// Parses UTF-8 JSON text (RFC 8259) into a ``JSONValue`` in one pass over the bytes.
///
/// Foundation's `JSONDecoder` reaches a `JSONValue` only through `Decodable`, whose single-value
/// container cannot say what type it holds: every object was first tried as a `Bool`, a `Double`, a
/// `String` and an array, and each miss built and threw a `DecodingError` with its message. That
/// made a frame's parse cost several times its size; no package on this machine parses JSON into a
/// dynamic value, so this parser is written here.
///
/// It accepts what `JSONDecoder` accepts but a trailing comma (`[1,]`), which RFC 8259 does not
/// allow. Like `JSONDecoder`, a repeated key keeps its first value, a leading byte order mark is
/// skipped, and nesting deeper than ``maximumDepth``, a number beyond `Double`'s range, an unpaired
/// surrogate, a raw control character in a string and bytes that are not UTF-8 are errors.
struct JSONParser {
    /// Arrays and objects nested deeper than this are refused, so hostile input cannot exhaust the
    /// stack (`JSONDecoder`'s limit too).
    static let maximumDepth = 512

    private let bytes: UnsafeBufferPointer<UInt8>
    private var position = 0
    private var depth = 0
    /// Reused by every string with escapes.
    private var scratch: [UInt8] = []

    private init(_ bytes: UnsafeBufferPointer<UInt8>) {
        self.bytes = bytes
    }

    /// The value `bytes` hold, with nothing but white space around it.
    static func parse(_ bytes: UnsafeBufferPointer<UInt8>) throws(JSONValue.ParsingError) -> JSONValue {
        var parser = JSONParser(bytes)
        if bytes.count >= 3, bytes[0] == 0xEF, bytes[1] == 0xBB, bytes[2] == 0xBF { parser.position = 3 }
        let value = try parser.value()
        parser.skipWhiteSpace()
        guard parser.position == bytes.count else { throw parser.error("Unexpected text after the JSON value") }
        return value
    }

    private mutating func value() throws(JSONValue.ParsingError) -> JSONValue {
        skipWhiteSpace()
        guard position < bytes.count else { throw error("Unexpected end of the text, a value was expected") }
        switch bytes[position] {
        case UInt8(ascii: "{"): return try object()
        case UInt8(ascii: "["): return try array()
        case UInt8(ascii: "\""): return .string(try string())
        case UInt8(ascii: "t"): try literal("true"); return .bool(true)
        case UInt8(ascii: "f"): try literal("false"); return .bool(false)
        case UInt8(ascii: "n"): try literal("null"); return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return .number(try number())
        default: throw error("Unexpected character, a value was expected")
        }
    }

    private mutating func object() throws(JSONValue.ParsingError) -> JSONValue {
        try enterContainer()
        var fields: [String: JSONValue] = [:]
        skipWhiteSpace()
        if try consume(UInt8(ascii: "}")) {
            depth -= 1
            return .object(fields)
        }
        repeat {
            skipWhiteSpace()
            guard position < bytes.count, bytes[position] == UInt8(ascii: "\"") else {
                throw error("An object's key must be a string")
            }
            let key = try string()
            skipWhiteSpace()
            guard try consume(UInt8(ascii: ":")) else { throw error("Expected ':' after an object's key") }
            let member = try value()
            if fields[key] == nil { fields[key] = member }
            skipWhiteSpace()
        } while try consume(UInt8(ascii: ","))
        guard try consume(UInt8(ascii: "}")) else { throw error("Expected ',' or '}' in an object") }
        depth -= 1
        return .object(fields)
    }

    private mutating func array() throws(JSONValue.ParsingError) -> JSONValue {
        try enterContainer()
        var elements: [JSONValue] = []
        skipWhiteSpace()
        if try consume(UInt8(ascii: "]")) {
            depth -= 1
            return .array(elements)
        }
        repeat {
            elements.append(try value())
            skipWhiteSpace()
        } while try consume(UInt8(ascii: ","))
        guard try consume(UInt8(ascii: "]")) else { throw error("Expected ',' or ']' in an array") }
        depth -= 1
        return .array(elements)
    }

    /// Steps over the opening bracket of an array or object, one level deeper.
    private mutating func enterContainer() throws(JSONValue.ParsingError) {
        guard depth < Self.maximumDepth else { throw error("Arrays and objects are nested more than \(Self.maximumDepth) deep") }
        depth += 1
        position += 1
    }

    /// Steps over `byte` if it comes next; the end of the text is an error wherever this is asked.
    private mutating func consume(_ byte: UInt8) throws(JSONValue.ParsingError) -> Bool {
        guard position < bytes.count else { throw error("Unexpected end of the text") }
        guard bytes[position] == byte else { return false }
        position += 1
        return true
    }

    private mutating func literal(_ word: StaticString) throws(JSONValue.ParsingError) {
        let count = word.utf8CodeUnitCount
        guard bytes.count - position >= count,
              UnsafeBufferPointer(rebasing: bytes[position..<position + count]).elementsEqual(
                UnsafeBufferPointer(start: word.utf8Start, count: count))
        else { throw error("Unexpected character, a value was expected") }
        position += count
    }

    private mutating func skipWhiteSpace() {
        while position < bytes.count {
            switch bytes[position] {
            case UInt8(ascii: " "), UInt8(ascii: "\n"), UInt8(ascii: "\r"), UInt8(ascii: "\t"): position += 1
            default: return
            }
        }
    }

    // MARK: Strings

    /// The string whose opening quote is at `position`.
    private mutating func string() throws(JSONValue.ParsingError) -> String {
        position += 1
        let start = position
        // Most strings have no escape: they are validated and copied in one step.
        while position < bytes.count {
            let byte = bytes[position]
            if byte == UInt8(ascii: "\"") {
                defer { position += 1 }
                return try Self.text(UnsafeBufferPointer(rebasing: bytes[start..<position]), at: start)
            }
            if byte == UInt8(ascii: "\\") { break }
            guard byte >= 0x20 else { throw error("A control character must be escaped in a string") }
            position += 1
        }
        scratch.removeAll(keepingCapacity: true)
        scratch.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[start..<position]))
        while position < bytes.count {
            let byte = bytes[position]
            switch byte {
            case UInt8(ascii: "\""):
                position += 1
                return try scratch.withUnsafeBufferPointer { buffer throws(JSONValue.ParsingError) in try Self.text(buffer, at: start) }
            case UInt8(ascii: "\\"):
                try escape()
            case ..<0x20:
                throw error("A control character must be escaped in a string")
            default:
                scratch.append(byte)
                position += 1
            }
        }
        throw error("Unterminated string")
    }

    private static func text(_ utf8: UnsafeBufferPointer<UInt8>, at start: Int) throws(JSONValue.ParsingError) -> String {
        guard let text = String(validating: utf8, as: UTF8.self) else {
            throw JSONValue.ParsingError(offset: start, reason: "A string is not valid UTF-8")
        }
        return text
    }

    /// Appends the character of the escape at `position` to `scratch`.
    private mutating func escape() throws(JSONValue.ParsingError) {
        position += 1
        do {
            try JSONEscape.decode(bytes, at: &position, into: &scratch)
        } catch {
            throw self.error(error.reason)
        }
    }

    // MARK: Numbers

    private mutating func number() throws(JSONValue.ParsingError) -> Double {
        let start = position
        let negative = bytes[position] == UInt8(ascii: "-")
        if negative { position += 1 }
        let integerStart = position
        guard skipDigits() else { throw error("A number needs a digit") }
        if bytes[integerStart] == UInt8(ascii: "0"), position - integerStart > 1 {
            throw JSONValue.ParsingError(offset: integerStart, reason: "A number must not start with 0")
        }
        var isInteger = true
        if position < bytes.count, bytes[position] == UInt8(ascii: ".") {
            position += 1
            guard skipDigits() else { throw error("A number needs a digit after its decimal point") }
            isInteger = false
        }
        if position < bytes.count, bytes[position] | 0x20 == UInt8(ascii: "e") {
            position += 1
            if position < bytes.count, bytes[position] == UInt8(ascii: "+") || bytes[position] == UInt8(ascii: "-") { position += 1 }
            guard skipDigits() else { throw error("A number needs a digit in its exponent") }
            isInteger = false
        }
        // Whole numbers of up to 15 digits are exact in a Double: the common case needs no conversion routine.
        if isInteger, position - integerStart <= 15 {
            var magnitude: Int64 = 0
            for index in integerStart..<position { magnitude = magnitude * 10 + Int64(bytes[index] - UInt8(ascii: "0")) }
            return negative ? -Double(magnitude) : Double(magnitude)
        }
        let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<position]), as: UTF8.self)
        guard let value = Double(text), value.isFinite else {
            throw JSONValue.ParsingError(offset: start, reason: "The number \(text.prefix(40)) is beyond the range of a double")
        }
        return value
    }

    /// Steps over a run of digits; false if there was none.
    private mutating func skipDigits() -> Bool {
        let start = position
        while position < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[position]) { position += 1 }
        return position > start
    }

    private func error(_ reason: String) -> JSONValue.ParsingError {
        JSONValue.ParsingError(offset: min(position, bytes.count), reason: reason)
    }
}

extension JSONValue {
    /// Why a text is not JSON, and where.
    public struct ParsingError: Error, Sendable, Equatable, CustomStringConvertible {
        /// The byte offset in the text at which parsing stopped.
        public let offset: Int
        public let reason: String

        public var description: String { "\(reason) (at byte \(offset))" }
    }
}
