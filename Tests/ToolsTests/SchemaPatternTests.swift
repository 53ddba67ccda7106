import ChatBridge
import Foundation
import Testing
@testable import Tools

/// `pattern` is matched by a linear-time engine (issue 11: a catastrophic pattern in a client tool's
/// schema must not stall the server), with ECMA-262 semantics for the subset it supports.
@Suite("Schema patterns")
struct SchemaPatternTests {
    static func matches(_ pattern: String, _ text: String) throws -> Bool {
        try SchemaPattern(pattern).matches(text)
    }

    @Test(arguments: [
        // Anchors and unanchored search.
        ("b", "abc", true), ("^a", "ba", false), ("c$", "abc", true), ("^$", "", true), ("^$", "a", false), ("a^", "a", false),
        ("", "anything", true),
        // Classes, ranges, negation and escapes.
        ("^[A-Za-z_]+/[A-Za-z_]+$", "Europe/Paris", true), ("^[A-Za-z_]+/[A-Za-z_]+$", "Europe/Pa ris", false),
        ("^[^0-9]+$", "abc", true), ("^[^0-9]+$", "ab1", false), ("^[a-]+$", "a-a", true), ("^[-a]+$", "-", true),
        ("^\\d{3}-\\d{4}$", "555-1234", true), ("^\\d{3}-\\d{4}$", "555-12345", false), ("^\\D+$", "abc", true),
        ("^\\w+$", "snake_case9", true), ("^\\w+$", "kebab-case", false), ("^\\W$", "-", true),
        ("^\\s*$", " \t\n\u{A0}\u{3000}", true), ("\\S", "   ", false), ("^[\\s\\d]+$", "1 2", true), ("^[\\D]$", "x", true),
        ("^\\.$", ".", true), ("^\\.$", "x", false), ("^.$", "\n", false), ("^.$", "é", true), ("^.$", "😀", true),
        ("^\\x41\\u0042\\u{43}$", "ABC", true), ("^\\t\\n$", "\t\n", true), ("^[\\b]$", "\u{8}", true), ("^\\cJ$", "\n", true),
        ("^\\/\\-\\[\\]\\{\\}\\(\\)\\*\\+\\?\\|\\^\\$\\\\$", "/-[]{}()*+?|^$\\", true),
        // Quantifiers, greedy and lazy.
        ("^a{2}$", "aa", true), ("^a{2}$", "aaa", false), ("^a{2,}$", "aaaa", true), ("^a{2,}$", "a", false),
        ("^a{2,3}$", "aaa", true), ("^a{2,3}$", "aaaa", false), ("^a{0}$", "", true), ("^(ab){1,2}$", "abab", true),
        ("^a*?b+?c??$", "aabb", true), ("^a{1,2}?$", "aa", true), ("^x{,2}$", "x{,2}", true), ("^a{$", "a{", true),
        ("^(?:ab)+$", "ababab", true), ("^(?:ab)+$", "ababa", false), ("^(?<year>\\d{4})-\\d{2}$", "2026-11", true),
        // Alternation.
        ("^(cat|dog)s?$", "dogs", true), ("^(cat|dog)s?$", "cow", false), ("^(|a)$", "", true), ("^a|b$", "xb", true),
        ("^(a|ab)(c|bcd)(d*)$", "abcd", true),
        // Word boundaries.
        ("\\bcat\\b", "a cat sat", true), ("\\bcat\\b", "concat", false), ("\\Bcat", "concat", true),
        // Unicode: code points, not UTF-16 units or graphemes.
        ("^\\p{L}+$", "Ünïcødé", true), ("^\\p{Lu}", "élan", false), ("^\\P{N}+$", "abc", true), ("^\\p{Nd}+$", "٣٤", true),
        ("^[é-ë]$", "ê", true), ("^\\u{1F600}$", "😀", true), ("^..$", "e\u{301}", true),
    ] as [(String, String, Bool)])
    func conformance(pattern: String, text: String, expected: Bool) throws {
        #expect(try Self.matches(pattern, text) == expected, "/\(pattern)/ on \(text.debugDescription)")
    }

    /// Patterns that take a backtracking engine exponential or polynomial time, with inputs that
    /// trigger it: `prefix` + `unit` × `count` + `suffix` (built in the test, so the log stays short).
    @Test(arguments: [
        ("^(a+)+$", "", "a", 5_000, "b"),
        ("^(a|a)*$", "", "a", 5_000, "b"),
        ("^(a|aa)+$", "", "a", 5_000, "b"),
        ("^(a*)*$", "", "a", 5_000, "b"),
        ("^(\\w+\\s?)*$", "", "word ", 1_000, "!"),
        ("^([a-zA-Z0-9])(([\\-.]|[_]+)?([a-zA-Z0-9]+))*(@){1}[a-z0-9]+[.]{1}(([a-z]{2,3})|([a-z]{2,3}[.]{1}[a-z]{2,3}))$",
         "", "a", 5_000, "!"),
        ("(.*a){12}", "aaaaaaaaaaa", "b", 5_000, ""),
        ("^(x+x+)+y$", "", "x", 5_000, ""),
    ] as [(String, String, String, Int, String)])
    func catastrophicPatternsAnswerInLinearTime(pattern: String, prefix: String, unit: String, count: Int, suffix: String) throws {
        let text = prefix + String(repeating: unit, count: count) + suffix
        let started = ContinuousClock.now
        #expect(try Self.matches(pattern, text) == false)
        // A backtracking engine does not finish these in the lifetime of the test run.
        #expect(ContinuousClock.now - started < .seconds(10))
        // Through the validator, as a tool call's arguments are checked.
        let violations = JSONSchemaValidator.validate(["s": .string(text)], against: ["properties": ["s": ["pattern": .string(pattern)]]])
        #expect(violations.count == 1)
    }

    @Test(arguments: [
        ("(a)\\1", "backreference"), ("(?<n>a)\\k<n>", "named backreference"), ("(?=a)", "lookahead"), ("(?!a)", "negative lookahead"),
        ("(?<=a)b", "lookbehind"), ("(?<!a)b", "negative lookbehind"), ("(?>a)", "atomic group"), ("a++", "possessive"),
        ("(?i)a", "group syntax"), ("\\p{Script=Greek}", "Unicode property"), ("\\01", "octal"),
    ] as [(String, String)])
    func unsupportedConstructsAreNamedWhenTheSchemaIsDeclared(pattern: String, construct: String) throws {
        let error = try #require(throws: InvalidSchemaError.self) {
            try JSONSchemaValidator.checkSchema(["type": "object", "properties": ["s": ["type": "string", "pattern": .string(pattern)]]])
        }
        #expect(error.problems.map(\.path) == ["$.properties.s.pattern"])
        #expect(error.description.contains(construct), "\(error.description)")
        #expect(error.description.contains("not supported"), "\(error.description)")
    }

    @Test(arguments: ["([a-z", "a)", "*a", "a{3,2}", "[z-a]", "\\", "a**", "\\q", "(?<>a)", "^*", "a{1001}"])
    func invalidPatternsAreRefused(pattern: String) {
        #expect(throws: SchemaPattern.SyntaxError.self) { try SchemaPattern(pattern) }
    }

    @Test func expandedRepetitionsAreBounded() throws {
        #expect(throws: SchemaPattern.SyntaxError.self) { try SchemaPattern("(a{1000}){1000}") }
        #expect(throws: SchemaPattern.SyntaxError.self) { try SchemaPattern("((a{100}){100}){100}") }
        #expect(try Self.matches("^(ab{2}){1,1000}$", String(repeating: "abb", count: 1000)))
    }

    @Test func agreesWithICUOnThePortableSubset() throws {
        // Where ECMA-262 and ICU agree (no Unicode classes), the two engines must give the same answers.
        let patterns = ["^[a-z]+(-[a-z]+)*$", "\\d+(\\.\\d+)?", "^(foo|bar|baz)?qux$", "a.c", "^\\s*\\w+\\s*=\\s*\\d{1,3}$", "(ab|a)(bc|c)"]
        let texts = ["abc", "a-b-c", "a--b", "12.5", "x = 123", "x = 1234", "barqux", "qux", "abbc", "a\nc", "", "key=7 "]
        for pattern in patterns {
            let icu = try NSRegularExpression(pattern: pattern)
            for text in texts {
                let expected = icu.firstMatch(in: text, range: NSRange(text.startIndex..., in: text)) != nil
                #expect(try Self.matches(pattern, text) == expected, "/\(pattern)/ on \(text.debugDescription)")
            }
        }
    }
}
