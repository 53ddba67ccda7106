import Foundation

/// A recursive-descent parser for arithmetic expressions (no `eval`, no code execution).
///
/// Grammar, lowest precedence first:
///
///     sum      := product (('+' | '-') product)*
///     product  := unary (('*' | '/' | '%') unary)*
///     unary    := ('+' | '-') unary | power
///     power    := primary ('^' unary)?            // right-associative: 2^3^2 = 2^9
///     primary  := number | constant | function '(' sum (',' sum)* ')' | '(' sum ')'
///
/// Unary minus binds looser than `^`, so `-2^2 = -4` and `2^-1 = 0.5`. Numbers may have decimals and
/// exponents (`1e-3`, `.5`). `**`, `×`, `÷` and `−` are read as `^`, `*`, `/` and `-` because models and
/// people write them. Constants are `pi` (or `π`) and `e`; function and constant names ignore case.
/// Positions in errors are 1-based character offsets.
public struct ExpressionParser: Sendable {
    /// Longer input is refused before parsing, to bound work per call.
    public static let maximumLength = 1000
    /// The deepest nesting of parentheses, function calls, signs and exponents accepted.
    public static let maximumDepth = 100

    /// The named constants.
    public static let constants: [String: Double] = ["pi": Double.pi, "π": Double.pi, "e": M_E]

    /// Parses `text` into an expression tree, or throws ``ExpressionError`` saying what is wrong and where.
    public static func parse(_ text: String) throws(ExpressionError) -> ArithmeticExpression {
        let characters = Array(text)
        guard characters.count <= maximumLength else {
            throw ExpressionError(
                .tooLong,
                "The expression is too long (\(characters.count) characters; the limit is \(maximumLength))",
                position: nil
            )
        }
        let tokens = try tokenize(characters)
        guard tokens.count > 1 else {
            throw ExpressionError(.empty, "The expression is empty", position: nil)
        }
        var parser = Parser(tokens: tokens)
        let expression = try parser.parseSum()
        let next = parser.current
        switch next.kind {
        case .end:
            return expression
        case .rightParen:
            throw ExpressionError(
                .unbalancedParentheses,
                "Unbalanced parentheses: ')' at position \(next.position) has no matching '('",
                position: next.position
            )
        default:
            throw ExpressionError(
                .trailingInput,
                "Unexpected '\(next.text)' at position \(next.position) after a complete expression"
                    + multiplicationHint(next),
                position: next.position
            )
        }
    }

    /// Parses and evaluates `text`.
    public static func evaluate(_ text: String) throws(ExpressionError) -> Double {
        try parse(text).evaluate()
    }

    // MARK: Tokens

    fileprivate struct Token {
        enum Kind: Equatable {
            case number(Double)
            case identifier(String)
            case op(Character)
            case leftParen
            case rightParen
            case comma
            case end
        }

        var kind: Kind
        var position: Int
        var text: String
    }

    private static func tokenize(_ characters: [Character]) throws(ExpressionError) -> [Token] {
        var tokens: [Token] = []
        var index = 0
        func peek(_ offset: Int) -> Character? {
            index + offset < characters.count ? characters[index + offset] : nil
        }

        while index < characters.count {
            let character = characters[index]
            let position = index + 1
            if character.isWhitespace {
                index += 1
            } else if isDigit(character) || (character == "." && peek(1).map(isDigit) == true) {
                let start = index
                while let next = peek(0), isDigit(next) { index += 1 }
                if peek(0) == "." {
                    index += 1
                    while let next = peek(0), isDigit(next) { index += 1 }
                }
                // An `e` is an exponent only when digits follow; otherwise `2e` is 2 then the constant e.
                if let marker = peek(0), marker == "e" || marker == "E" {
                    if let next = peek(1), isDigit(next) {
                        index += 1
                    } else if let sign = peek(1), sign == "+" || sign == "-", let next = peek(2), isDigit(next) {
                        index += 2
                    }
                    while let next = peek(0), isDigit(next) { index += 1 }
                }
                let text = String(characters[start..<index])
                // Swift's Double parser rejects "5." and ".5e1"-style edge spellings less often than people
                // write them; padding with zeros makes every accepted spelling parse.
                var normalized = text.hasPrefix(".") ? "0" + text : text
                normalized = normalized.replacingOccurrences(of: ".e", with: ".0e").replacingOccurrences(of: ".E", with: ".0E")
                if normalized.hasSuffix(".") { normalized += "0" }
                guard let value = Double(normalized) else {
                    throw ExpressionError(.invalidNumber, "Invalid number '\(text)' at position \(position)", position: position)
                }
                guard value.isFinite else {
                    throw ExpressionError(.overflow, "The number '\(text)' at position \(position) is too large", position: position)
                }
                tokens.append(Token(kind: .number(value), position: position, text: text))
            } else if character.isLetter || character == "_" {
                let start = index
                while let next = peek(0), next.isLetter || isDigit(next) || next == "_" { index += 1 }
                let name = String(characters[start..<index])
                tokens.append(Token(kind: .identifier(name), position: position, text: name))
            } else {
                let kind: Token.Kind
                var text = String(character)
                switch character {
                case "+": kind = .op("+")
                case "-", "−", "–": kind = .op("-")
                case "*" where peek(1) == "*":
                    kind = .op("^")
                    text = "**"
                    index += 1
                case "*", "×", "·": kind = .op("*")
                case "/", "÷": kind = .op("/")
                case "%": kind = .op("%")
                case "^": kind = .op("^")
                case "(": kind = .leftParen
                case ")": kind = .rightParen
                case ",": kind = .comma
                default:
                    throw ExpressionError(
                        .unexpectedCharacter,
                        "Unexpected character '\(character)' at position \(position); use numbers, + - * / % ^, "
                            + "parentheses, functions and the constants pi and e",
                        position: position
                    )
                }
                index += 1
                tokens.append(Token(kind: kind, position: position, text: text))
            }
        }
        tokens.append(Token(kind: .end, position: characters.count + 1, text: "end of input"))
        return tokens
    }

    private static func isDigit(_ character: Character) -> Bool {
        character.isASCII && character.isWholeNumber
    }

    fileprivate static func multiplicationHint(_ token: Token) -> String {
        switch token.kind {
        case .number, .identifier, .leftParen: "; write '*' for multiplication (e.g. 2*pi, 3*(1+2))"
        default: ""
        }
    }

    // MARK: Parsing

    private struct Parser {
        let tokens: [Token]
        var index = 0
        var depth = 0
        var openParentheses = 0

        init(tokens: [Token]) {
            self.tokens = tokens
        }

        /// The token under the cursor; the last token is always `.end`, so this never runs off the array.
        var current: Token { tokens[index] }

        @discardableResult
        mutating func advance() -> Token {
            let token = tokens[index]
            if index < tokens.count - 1 { index += 1 }
            return token
        }

        mutating func parseSum() throws(ExpressionError) -> ArithmeticExpression {
            var result = try parseProduct()
            while case .op(let symbol) = current.kind, symbol == "+" || symbol == "-" {
                let token = advance()
                let rhs = try parseProduct()
                result = .binary(symbol == "+" ? .add : .subtract, result, rhs, position: token.position)
            }
            return result
        }

        mutating func parseProduct() throws(ExpressionError) -> ArithmeticExpression {
            var result = try parseUnary()
            while case .op(let symbol) = current.kind, symbol == "*" || symbol == "/" || symbol == "%" {
                let token = advance()
                let rhs = try parseUnary()
                let op: ArithmeticExpression.BinaryOperator = symbol == "*" ? .multiply : symbol == "/" ? .divide : .remainder
                result = .binary(op, result, rhs, position: token.position)
            }
            return result
        }

        mutating func parseUnary() throws(ExpressionError) -> ArithmeticExpression {
            if case .op(let symbol) = current.kind, symbol == "+" || symbol == "-" {
                let token = advance()
                try enter(token)
                defer { depth -= 1 }
                let operand = try parseUnary()
                return symbol == "-" ? .negate(operand, position: token.position) : operand
            }
            return try parsePower()
        }

        mutating func parsePower() throws(ExpressionError) -> ArithmeticExpression {
            let base = try parsePrimary()
            guard case .op("^") = current.kind else { return base }
            let token = advance()
            try enter(token)
            defer { depth -= 1 }
            // The exponent is a unary so that 2^-1 works; recursing into it makes ^ right-associative.
            let exponent = try parseUnary()
            return .binary(.power, base, exponent, position: token.position)
        }

        mutating func parsePrimary() throws(ExpressionError) -> ArithmeticExpression {
            let token = current
            switch token.kind {
            case .number(let value):
                advance()
                return .number(value)

            case .leftParen:
                advance()
                try enter(token)
                defer { depth -= 1 }
                let inner = try parseSum()
                try close(opening: token)
                return inner

            case .identifier(let name):
                advance()
                let key = name.lowercased()
                if let value = ExpressionParser.constants[key] {
                    if case .leftParen = current.kind {
                        throw ExpressionError(
                            .unexpectedToken,
                            "'\(name)' at position \(token.position) is a constant, not a function"
                                + "; write '*' for multiplication (e.g. \(name)*(1+2))",
                            position: token.position
                        )
                    }
                    return .number(value)
                }
                guard let function = MathFunction(rawValue: key) else {
                    throw ExpressionError(
                        .unknownIdentifier,
                        "Unknown identifier '\(name)' at position \(token.position); known functions: "
                            + MathFunction.allCases.map(\.rawValue).joined(separator: ", ") + "; constants: pi, e",
                        position: token.position
                    )
                }
                return try parseCall(function, name: name, at: token)

            case .rightParen where openParentheses == 0:
                throw ExpressionError(
                    .unbalancedParentheses,
                    "Unbalanced parentheses: ')' at position \(token.position) has no matching '('",
                    position: token.position
                )

            case .end:
                throw ExpressionError(
                    .unexpectedToken,
                    "The expression ends unexpectedly at position \(token.position); expected a number, constant, function or '('",
                    position: token.position
                )

            default:
                throw ExpressionError(
                    .unexpectedToken,
                    "Unexpected '\(token.text)' at position \(token.position); expected a number, constant, function or '('",
                    position: token.position
                )
            }
        }

        private mutating func parseCall(_ function: MathFunction, name: String,
                                        at token: Token) throws(ExpressionError) -> ArithmeticExpression {
            guard case .leftParen = current.kind else {
                throw ExpressionError(
                    .unexpectedToken,
                    "'\(name)' at position \(token.position) is a function; call it with parentheses: \(function.usage)",
                    position: token.position
                )
            }
            let opening = advance()
            try enter(opening)
            defer { depth -= 1 }
            var arguments: [ArithmeticExpression] = []
            if case .rightParen = current.kind {
                // `f()` — fall through to the arity check below for a precise message.
            } else {
                arguments.append(try parseSum())
                while case .comma = current.kind {
                    advance()
                    arguments.append(try parseSum())
                }
            }
            try close(opening: opening)
            guard function.arity.contains(arguments.count) else {
                throw function.arityError(got: arguments.count, position: token.position)
            }
            return .call(function, arguments, position: token.position)
        }

        /// Consumes the `)` matching `opening`, or explains what is there instead.
        private mutating func close(opening: Token) throws(ExpressionError) {
            let token = current
            switch token.kind {
            case .rightParen:
                advance()
                openParentheses -= 1
            case .end:
                throw ExpressionError(
                    .unbalancedParentheses,
                    "Unbalanced parentheses: '(' at position \(opening.position) is never closed",
                    position: opening.position
                )
            default:
                throw ExpressionError(
                    .unexpectedToken,
                    "Expected ')' to close '(' at position \(opening.position) but found '\(token.text)' at position \(token.position)"
                        + ExpressionParser.multiplicationHint(token),
                    position: token.position
                )
            }
        }

        /// Counts one more level of nesting, refusing input that would recurse without bound.
        private mutating func enter(_ token: Token) throws(ExpressionError) {
            depth += 1
            if case .leftParen = token.kind { openParentheses += 1 }
            guard depth <= ExpressionParser.maximumDepth else {
                throw ExpressionError(
                    .tooDeep,
                    "The expression is nested too deeply at position \(token.position) (more than \(ExpressionParser.maximumDepth) levels)",
                    position: token.position
                )
            }
        }
    }
}
