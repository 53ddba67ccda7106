import Foundation
import Testing
@testable import Tools

@Suite struct ExpressionParserTests {
    @Test(arguments: [
        ("1 + 2 * 3", 7.0), ("(1 + 2) * 3", 9), ("10 - 4 - 3", 3), ("100 / 10 / 5", 2), ("2 * 3 % 4", 2),
        ("2 ^ 3 ^ 2", 512), ("-2^2", -4), ("(-2)^2", 4), ("2^-1", 0.5), ("-2^-2", -0.25), ("2^3*2", 16),
        ("-3 * -2", 6), ("+3", 3), ("--3", 3), ("1 - -1", 2), ("7 % 3", 1), ("-7 % 3", -1), ("7.5 % 2", 1.5),
        ("1e-3 * 1000", 1), ("1.5E+2", 150), ("2e3", 2000), (".5 + .5", 1), ("5. + 1", 6),
        ("pi", Double.pi), ("e", M_E), ("2*PI", 2 * Double.pi), ("π", Double.pi), ("e^2", M_E * M_E),
        ("sqrt(16)", 4), ("abs(-3)", 3), ("ln(e)", 1), ("log10(1000)", 3), ("log(e^2)", 2), ("log(8, 2)", 3),
        ("exp(0)", 1), ("sin(pi / 2)", 1), ("cos(0)", 1), ("tan(0)", 0), ("asin(1)", Double.pi / 2), ("acos(1)", 0),
        ("atan(1)", Double.pi / 4), ("floor(-2.5)", -3), ("ceil(2.1)", 3), ("round(2.5)", 3), ("round(-2.5)", -3),
        ("min(3, 1, 2)", 1), ("max(3)", 3), ("max(1, 5, 2, 4)", 5), ("SQRT(9)", 3),
        ("2 ** 3", 8), ("3 × 4 ÷ 2", 6), ("5 − 2", 3), ("sqrt(max(9, 16)) + min(-1, abs(-2))", 3),
    ] as [(String, Double)])
    func evaluates(expression: String, expected: Double) throws {
        let value = try ExpressionParser.evaluate(expression)
        #expect(abs(value - expected) < 1e-12, "\(expression) = \(value), expected \(expected)")
    }

    @Test func powerIsRightAssociativeAndBindsTighterThanUnaryMinus() throws {
        #expect(try ExpressionParser.parse("-2^2") ==
            .negate(.binary(.power, .number(2), .number(2), position: 3), position: 1))
        #expect(try ExpressionParser.parse("2^3^2") ==
            .binary(.power, .number(2), .binary(.power, .number(3), .number(2), position: 4), position: 2))
        #expect(try ExpressionParser.parse("1-2-3") ==
            .binary(.subtract, .binary(.subtract, .number(1), .number(2), position: 2), .number(3), position: 4))
    }

    @Test(arguments: [
        ("1 / 0", ExpressionError.Kind.divisionByZero, 3 as Int?),
        ("5 % (2 - 2)", .divisionByZero, 3),
        ("0 ^ -1", .divisionByZero, 3),
        ("foo(2)", .unknownIdentifier, 1),
        ("2 + x", .unknownIdentifier, 5),
        ("(1 + 2", .unbalancedParentheses, 1),
        ("sqrt(4", .unbalancedParentheses, 5),
        ("((1)", .unbalancedParentheses, 1),
        ("1 + 2)", .unbalancedParentheses, 6),
        (")", .unbalancedParentheses, 1),
        ("2 3", .trailingInput, 3),
        ("2pi", .trailingInput, 2),
        ("1.2.3", .trailingInput, 4),
        ("sqrt(-1)", .domain, 1),
        ("ln(0)", .domain, 1),
        ("log10(-5)", .domain, 1),
        ("log(-1)", .domain, 1),
        ("log(8, 1)", .domain, 1),
        ("asin(2)", .domain, 1),
        ("acos(-1.5)", .domain, 1),
        ("(-8) ^ (1/3)", .domain, 6),
        ("10 ^ 400", .overflow, 4),
        ("exp(1000)", .overflow, 1),
        ("1e400", .overflow, 1),
        ("2 $ 3", .unexpectedCharacter, 3),
        ("sqrt(1, 2)", .wrongArgumentCount, 1),
        ("min()", .wrongArgumentCount, 1),
        ("log(1, 2, 3)", .wrongArgumentCount, 1),
        ("1 +", .unexpectedToken, 4),
        ("* 2", .unexpectedToken, 1),
        ("(1 + )", .unexpectedToken, 6),
        ("sqrt 4", .unexpectedToken, 1),
        ("pi(2)", .unexpectedToken, 1),
        ("(1, 2)", .unexpectedToken, 3),
        ("", .empty, nil),
        ("   ", .empty, nil),
    ] as [(String, ExpressionError.Kind, Int?)])
    func reportsErrorsWithPositions(expression: String, kind: ExpressionError.Kind, position: Int?) {
        let error = #expect(throws: ExpressionError.self) { try ExpressionParser.evaluate(expression) }
        #expect(error?.kind == kind, "\(expression): \(String(describing: error))")
        #expect(error?.position == position, "\(expression): \(String(describing: error))")
        if let position {
            #expect(error?.message.contains("position \(position)") == true, "\(expression): \(String(describing: error))")
        }
    }

    @Test func errorMessagesExplainTheProblem() {
        func message(_ text: String) -> String {
            do throws(ExpressionError) {
                return "no error, got \(try ExpressionParser.evaluate(text))"
            } catch {
                return error.message
            }
        }
        #expect(message("1/0") == "Division by zero at position 2")
        #expect(message("(1 + 2") == "Unbalanced parentheses: '(' at position 1 is never closed")
        #expect(message("2pi").contains("write '*' for multiplication"))
        #expect(message("foo(1)").hasPrefix("Unknown identifier 'foo' at position 1; known functions: sqrt"))
        #expect(message("sqrt(-4)") == "Domain error at position 1: sqrt is not defined for negative numbers (got -4)")
        #expect(message("sqrt(1, 2)") == "sqrt expects 1 argument but got 2 at position 1; write sqrt(x)")
    }

    @Test func lengthLimit() throws {
        let atLimit = String(repeating: "1+", count: 499) + "1" + " "  // 1000 characters
        #expect(atLimit.count == ExpressionParser.maximumLength)
        #expect(try ExpressionParser.evaluate(atLimit) == 500)
        let tooLong = atLimit + "1"
        let error = #expect(throws: ExpressionError.self) { try ExpressionParser.evaluate(tooLong) }
        #expect(error?.kind == .tooLong)
        #expect(error?.message == "The expression is too long (1001 characters; the limit is 1000)")
    }

    @Test func nestingLimit() throws {
        let nested = { (depth: Int) in String(repeating: "(", count: depth) + "1" + String(repeating: ")", count: depth) }
        #expect(try ExpressionParser.evaluate(nested(100)) == 1)
        let error = #expect(throws: ExpressionError.self) { try ExpressionParser.evaluate(nested(101)) }
        #expect(error?.kind == .tooDeep)
        #expect(error?.position == 101)
        let functions = String(repeating: "abs(", count: 101) + "1" + String(repeating: ")", count: 101)
        #expect((#expect(throws: ExpressionError.self) { try ExpressionParser.evaluate(functions) })?.kind == .tooDeep)
        let signs = String(repeating: "-", count: 150) + "1"
        #expect((#expect(throws: ExpressionError.self) { try ExpressionParser.evaluate(signs) })?.kind == .tooDeep)
    }
}
