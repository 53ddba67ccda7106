import AgentHostTesting
import Foundation
import Testing

@testable import ChatBridge

/// `JSONValue(parsing:)` against Foundation's `JSONDecoder` (through `JSONValue`'s `Decodable`
/// conformance), which parsed every frame, tool argument and stored JSON column before it.
@Suite("JSON parser")
struct JSONParserTests {
    private static func foundation(_ bytes: [UInt8]) -> JSONValue? {
        try? JSONDecoder().decode(JSONValue.self, from: Data(bytes))
    }

    private static func parsed(_ bytes: [UInt8]) -> JSONValue? {
        try? JSONValue(parsing: bytes)
    }

    @Test func agreesWithFoundationOnGeneratedDocuments() throws {
        var random = SplitMix64(seed: 17)
        for index in 0..<3_000 {
            let value = Self.randomValue(depth: 0, using: &random)
            let text = Self.write(value, using: &random)
            let expected = try #require(Self.foundation(text), "Foundation refused document \(index): \(String(decoding: text, as: UTF8.self))")
            #expect(try JSONValue(parsing: text) == expected, "document \(index): \(String(decoding: text, as: UTF8.self))")
            #expect(try JSONValue(parsing: String(decoding: text, as: UTF8.self)) == expected)
            // A non-contiguous collection takes the copying path.
            #expect(try JSONValue(parsing: AnyCollection(text)) == expected)
        }
    }

    @Test func serializedValuesParseBackUnchanged() throws {
        var random = SplitMix64(seed: 29)
        for _ in 0..<1_000 {
            let value = Self.randomValue(depth: 0, using: &random)
            #expect(try JSONValue(parsing: value.serialized()) == value)
        }
    }

    @Test(arguments: [
        "", " ", "tru", "nul", "falsey", "1 2", "{} {}", "01", "-01", "1.", ".5", "-", "+1", "1e", "1e+", "0x10", "NaN",
        "Infinity", "1e400", "-1e400", "\"abc", "\"a\u{01}b\"", "\"tab\there\"", "\"\\x\"", "\"\\u12\"", "\"\\u12G4\"",
        "\"\\ud800\"", "\"\\ud800x\"", "\"\\ud800\\u0041\"", "\"\\udc00\"", "[1", "[1 2]", "{\"a\" 1}", "{\"a\":}", "{a:1}",
        "{\"a\":1", "{1:2}", "[,]", "[,1]", "{,}", "'a'", "[1]]", "/* */1",
    ])
    func refusesWhatFoundationRefuses(_ text: String) {
        let bytes = Array(text.utf8)
        #expect(Self.foundation(bytes) == nil, "Foundation accepts \(text.debugDescription)")
        #expect(throws: JSONValue.ParsingError.self) { try JSONValue(parsing: bytes) }
    }

    @Test(arguments: [
        [0x22, 0xFF, 0x22],  // never in UTF-8
        [0x22, 0xC3, 0x22],  // a lead byte without its continuation
        [0x22, 0xC0, 0xAF, 0x22],  // an overlong '/'
        [0x22, 0xED, 0xA0, 0x80, 0x22],  // a surrogate encoded as UTF-8
        [0x22, 0x5C, 0x6E, 0xE2, 0x82, 0x22],  // after an escape, a truncated sequence
        [0x7B, 0x22, 0x80, 0x22, 0x3A, 0x31, 0x7D],  // in a key
    ] as [[UInt8]])
    func refusesStringsThatAreNotUTF8(_ bytes: [UInt8]) {
        #expect(Self.foundation(bytes) == nil)
        #expect(throws: JSONValue.ParsingError.self) { try JSONValue(parsing: bytes) }
    }

    /// Where Foundation is more lenient than RFC 8259, the parser follows the RFC.
    @Test(arguments: ["[1,]", "{\"a\":1,}", "[[],]"])
    func refusesTrailingCommasThatFoundationAllows(_ text: String) {
        #expect(Self.foundation(Array(text.utf8)) != nil)
        #expect(throws: JSONValue.ParsingError.self) { try JSONValue(parsing: text) }
    }

    @Test func aRepeatedKeyKeepsItsFirstValueAsFoundationDoes() throws {
        let text = #"{"role":"user","role":"admin","n":{"x":1,"x":2}}"#
        let parsed = try JSONValue(parsing: text)
        #expect(parsed == ["role": "user", "n": ["x": 1]])
        #expect(parsed == Self.foundation(Array(text.utf8)))
    }

    @Test func escapesAndTheByteOrderMark() throws {
        #expect(try JSONValue(parsing: #""\"\\\/\b\f\n\r\t\u00e9\u65e5\ud83c\udf89 \u0000""#)
                == .string("\"\\/\u{08}\u{0C}\n\r\té日🎉 \u{0}"))
        #expect(try JSONValue(parsing: "\u{FEFF} [true, false, null] ") == [true, false, nil])
        #expect(try JSONValue(parsing: "-0").doubleValue?.sign == .minus)
        #expect(try JSONValue(parsing: "123456789012345678901234567890") == .number(1.2345678901234568e29))
        #expect(try JSONValue(parsing: "[999999999999999, -999999999999999, 9007199254740993, 2.5e-3, 1E+2]")
                == [.number(999_999_999_999_999), .number(-999_999_999_999_999), .number(9_007_199_254_740_992), 0.0025, 100])
    }

    @Test func nestingStopsAtTheLimitWithoutExhaustingTheStack() throws {
        let limit = JSONParser.maximumDepth
        let deepest = String(repeating: "[", count: limit) + String(repeating: "]", count: limit)
        #expect(try JSONValue(parsing: deepest).arrayValue != nil)
        let objects = String(repeating: #"{"a":"#, count: limit) + "1" + String(repeating: "}", count: limit)
        #expect(try JSONValue(parsing: objects)["a"] != nil)
        // The offset is the opening bracket one level too deep: the 513th '[', or the '{' of the
        // 257th `{"a":[`, six bytes each.
        let tooDeep = [("[" + deepest + "]", limit), (String(repeating: "[", count: 1_000_000), limit),
                       (String(repeating: #"{"a":["#, count: 200_000), 6 * (limit / 2))]
        for (text, offset) in tooDeep {
            let error = try #require(throws: JSONValue.ParsingError.self) { try JSONValue(parsing: text) }
            #expect(error.reason.contains("nested more than \(limit) deep"))
            #expect(error.offset == offset)
        }
    }

    @Test func anErrorSaysWhereAndWhy() {
        let error = #expect(throws: JSONValue.ParsingError.self) { try JSONValue(parsing: #"{"a": tru}"#) }
        #expect(error?.offset == 6)
        #expect(error?.description == "Unexpected character, a value was expected (at byte 6)")
        let late = #expect(throws: JSONValue.ParsingError.self) { try JSONValue(parsing: "[1, 2] x") }
        #expect(late?.offset == 7)
    }

    // MARK: Generated documents

    private static let alphabet: [String] = ["a", "Z", "0", " ", "\"", "\\", "/", "\n", "\t", "\u{01}", "\u{1F}", "\u{7F}", "é", "日",
                                             "🎉", "\u{FEFF}", "\u{2028}", "{", "]", ":", ","]

    private static func randomValue(depth: Int, using random: inout SplitMix64) -> JSONValue {
        switch Int.random(in: 0..<(depth < 4 ? 9 : 6), using: &random) {
        case 0: return .null
        case 1: return .bool(Bool.random(using: &random))
        case 2: return .number(Double(Int.random(in: -1_000_000...1_000_000, using: &random)))
        case 3:
            let exponent = Double(Int.random(in: -300...300, using: &random))
            return .number(Double.random(in: -1...1, using: &random) * pow(10, exponent))
        case 4, 5:
            let length = Int.random(in: 0..<12, using: &random)
            return .string((0..<length).map { _ in alphabet.randomElement(using: &random)! }.joined())
        case 6, 7:
            return .array((0..<Int.random(in: 0..<5, using: &random)).map { _ in randomValue(depth: depth + 1, using: &random) })
        default:
            var fields: [String: JSONValue] = [:]
            for _ in 0..<Int.random(in: 0..<5, using: &random) {
                let key = (0..<Int.random(in: 0..<6, using: &random)).map { _ in alphabet.randomElement(using: &random)! }.joined()
                fields[key] = randomValue(depth: depth + 1, using: &random)
            }
            return .object(fields)
        }
    }

    /// `value` as JSON text written with random white space, escapes where plain characters would
    /// do and the number forms the grammar allows.
    private static func write(_ value: JSONValue, using random: inout SplitMix64) -> [UInt8] {
        var output: [UInt8] = []
        write(value, to: &output, using: &random)
        return output
    }

    private static func write(_ value: JSONValue, to output: inout [UInt8], using random: inout SplitMix64) {
        func space() {
            for _ in 0..<Int.random(in: 0..<3, using: &random) { output.append([0x20, 0x0A, 0x0D, 0x09].randomElement(using: &random)!) }
        }
        space()
        switch value {
        case .null, .bool: value.write(to: &output)
        case .number(let number):
            let forms = [number.description, String(format: "%.17g", number), String(format: "%.17e", number).uppercased()]
            var text = forms.randomElement(using: &random)!
            if text.hasSuffix(".0") { text.removeLast(2) }
            output.append(contentsOf: text.utf8)
        case .string(let text): writeString(text, to: &output, using: &random)
        case .array(let elements):
            output.append(UInt8(ascii: "["))
            for (index, element) in elements.enumerated() {
                if index > 0 { output.append(UInt8(ascii: ",")) }
                write(element, to: &output, using: &random)
            }
            space()
            output.append(UInt8(ascii: "]"))
        case .object(let fields):
            output.append(UInt8(ascii: "{"))
            for (index, (key, field)) in fields.enumerated() {
                if index > 0 { output.append(UInt8(ascii: ",")) }
                space()
                writeString(key, to: &output, using: &random)
                space()
                output.append(UInt8(ascii: ":"))
                write(field, to: &output, using: &random)
            }
            space()
            output.append(UInt8(ascii: "}"))
        }
        space()
    }

    private static func writeString(_ text: String, to output: inout [UInt8], using random: inout SplitMix64) {
        output.append(UInt8(ascii: "\""))
        for scalar in text.unicodeScalars {
            let mustEscape = scalar.value < 0x20 || scalar == "\"" || scalar == "\\"
            if mustEscape || Int.random(in: 0..<4, using: &random) == 0 {
                switch (scalar, Int.random(in: 0..<2, using: &random)) {
                case ("\n", 0): output.append(contentsOf: Array(#"\n"#.utf8))
                case ("\t", 0): output.append(contentsOf: Array(#"\t"#.utf8))
                case ("\"", 0): output.append(contentsOf: Array(#"\""#.utf8))
                case ("\\", 0): output.append(contentsOf: Array(#"\\"#.utf8))
                case ("/", 0): output.append(contentsOf: Array(#"\/"#.utf8))
                default:
                    for unit in String(scalar).utf16 { output.append(contentsOf: Array(String(format: "\\u%04X", unit).utf8)) }
                }
            } else {
                output.append(contentsOf: Array(String(scalar).utf8))
            }
        }
        output.append(UInt8(ascii: "\""))
    }
}
