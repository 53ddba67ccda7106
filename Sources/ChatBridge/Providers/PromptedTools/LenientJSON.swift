/// A forgiving JSON reader for what small models write when asked for JSON.
///
/// Accepts, besides strict JSON: trailing commas, single-quoted strings, unquoted (identifier)
/// keys, Python's `True`/`False`/`None`, and input cut off inside a string or container (the open
/// string and containers are closed, as a model stopped by its token limit leaves them). Anything
/// after the first complete value is reported through `rest` so a caller can read several values.
/// It never throws for a container left open; it throws ``Failure`` for text that is not JSON-like.
public enum LenientJSON {
    public struct Failure: Error, Equatable, CustomStringConvertible {
        public var description: String
    }

    /// The value at the start of `text` (after whitespace) and the text after it.
    public static func parseValue(_ text: Substring) throws -> (value: JSONValue, rest: Substring) {
        var reader = Reader(scalars: Array(text.unicodeScalars))
        reader.skipWhitespace()
        let value = try reader.value(depth: 0)
        let rest = String(String.UnicodeScalarView(reader.scalars[reader.position...]))
        return (value, Substring(rest))
    }

    /// The single value `text` holds; text after it other than whitespace is an error.
    public static func parse(_ text: String) throws -> JSONValue {
        let (value, rest) = try parseValue(Substring(text))
        guard rest.allSatisfy(\.isWhitespace) else {
            throw Failure(description: "unexpected text after the JSON value: \(rest.prefix(40))")
        }
        return value
    }

    private struct Reader {
        let scalars: [Unicode.Scalar]
        var position = 0
        static let maxDepth = 64

        var atEnd: Bool { position >= scalars.count }
        var current: Unicode.Scalar? { atEnd ? nil : scalars[position] }

        mutating func skipWhitespace() {
            while let scalar = current, scalar.properties.isWhitespace { position += 1 }
        }

        mutating func value(depth: Int) throws -> JSONValue {
            guard depth < Self.maxDepth else { throw Failure(description: "JSON nested deeper than \(Self.maxDepth) levels") }
            skipWhitespace()
            guard let scalar = current else { throw Failure(description: "expected a JSON value, found the end of the text") }
            switch scalar {
            case "{": return try object(depth: depth)
            case "[": return try array(depth: depth)
            case "\"", "'": return .string(try string())
            case "-", "+", "0"..."9", ".": return try number()
            default:
                let word = identifier()
                switch word {
                case "true", "True": return .bool(true)
                case "false", "False": return .bool(false)
                case "null", "None": return .null
                case "": throw Failure(description: "unexpected character '\(scalar)'")
                default: throw Failure(description: "unexpected word '\(word)'")
                }
            }
        }

        mutating func object(depth: Int) throws -> JSONValue {
            position += 1  // {
            var fields: [String: JSONValue] = [:]
            while true {
                skipWhitespace()
                guard let scalar = current else { return .object(fields) }  // cut off: close it
                if scalar == "}" { position += 1; return .object(fields) }
                if scalar == "," { position += 1; continue }  // trailing or doubled comma
                let key: String
                if scalar == "\"" || scalar == "'" {
                    key = try string()
                } else {
                    key = identifier()
                    guard !key.isEmpty else { throw Failure(description: "expected a key, found '\(scalar)'") }
                }
                skipWhitespace()
                guard let colon = current else { return .object(fields) }
                guard colon == ":" || colon == "=" else { throw Failure(description: "expected ':' after key '\(key)'") }
                position += 1
                skipWhitespace()
                if atEnd { return .object(fields) }
                fields[key] = try value(depth: depth + 1)
                skipWhitespace()
                if let next = current, next != ",", next != "}" {
                    throw Failure(description: "expected ',' or '}' after the value of '\(key)'")
                }
            }
        }

        mutating func array(depth: Int) throws -> JSONValue {
            position += 1  // [
            var values: [JSONValue] = []
            while true {
                skipWhitespace()
                guard let scalar = current else { return .array(values) }
                if scalar == "]" { position += 1; return .array(values) }
                if scalar == "," { position += 1; continue }
                values.append(try value(depth: depth + 1))
                skipWhitespace()
                if let next = current, next != ",", next != "]" {
                    throw Failure(description: "expected ',' or ']' in an array")
                }
            }
        }

        mutating func string() throws -> String {
            let quote = scalars[position]
            position += 1
            var result = String.UnicodeScalarView()
            while let scalar = current {
                position += 1
                if scalar == quote { return String(result) }
                guard scalar == "\\" else { result.append(scalar); continue }
                guard let escaped = current else { break }
                position += 1
                switch escaped {
                case "n": result.append("\n")
                case "t": result.append("\t")
                case "r": result.append("\r")
                case "b": result.append("\u{08}")
                case "f": result.append("\u{0C}")
                case "u":
                    let digits = scalars[position..<min(position + 4, scalars.count)]
                    guard digits.count == 4, let code = UInt32(String(String.UnicodeScalarView(digits)), radix: 16) else {
                        throw Failure(description: "bad \\u escape in a string")
                    }
                    position += 4
                    if (0xD800..<0xDC00).contains(code), position + 6 <= scalars.count, scalars[position] == "\\", scalars[position + 1] == "u",
                       let low = UInt32(String(String.UnicodeScalarView(scalars[(position + 2)..<(position + 6)])), radix: 16),
                       (0xDC00..<0xE000).contains(low) {
                        position += 6
                        result.append(Unicode.Scalar(0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)) ?? "\u{FFFD}")
                    } else {
                        result.append(Unicode.Scalar(code) ?? "\u{FFFD}")
                    }
                default: result.append(escaped)  // \" \\ \/ \' and unknown escapes keep the character
                }
            }
            return String(result)  // cut off inside the string: keep what there is
        }

        mutating func number() throws -> JSONValue {
            let start = position
            while let scalar = current, "0123456789+-.eE".unicodeScalars.contains(scalar) { position += 1 }
            let text = String(String.UnicodeScalarView(scalars[start..<position]))
            guard let value = Double(text.hasPrefix("+") ? String(text.dropFirst()) : text), value.isFinite else {
                throw Failure(description: "'\(text)' is not a number")
            }
            return .number(value)
        }

        mutating func identifier() -> String {
            let start = position
            while let scalar = current, scalar == "_" || scalar == "$" || scalar.properties.isAlphabetic
                || ("0"..."9").contains(scalar) || (position > start && scalar == "-") {
                position += 1
            }
            return String(String.UnicodeScalarView(scalars[start..<position]))
        }
    }
}
