import Foundation

/// A parsed arithmetic expression. Positions are 1-based character offsets into the source text,
/// kept so evaluation errors (division by zero, domain errors) can say where they happened.
public indirect enum ArithmeticExpression: Sendable, Equatable {
    /// The binary operators, by precedence: `+ -` < `* / %` < `^` (right-associative).
    public enum BinaryOperator: String, Sendable, Equatable {
        case add = "+"
        case subtract = "-"
        case multiply = "*"
        case divide = "/"
        case remainder = "%"
        case power = "^"
    }

    case number(Double)
    case negate(ArithmeticExpression, position: Int)
    case binary(BinaryOperator, ArithmeticExpression, ArithmeticExpression, position: Int)
    case call(MathFunction, [ArithmeticExpression], position: Int)

    /// Computes the value, throwing ``ExpressionError`` for division by zero, domain errors and
    /// results too large for a Double.
    public func evaluate() throws(ExpressionError) -> Double {
        switch self {
        case .number(let value):
            return value
        case .negate(let operand, let position):
            return try Self.finite(-operand.evaluate(), position: position)
        case .binary(let op, let lhs, let rhs, let position):
            let left = try lhs.evaluate()
            let right = try rhs.evaluate()
            return try Self.finite(Self.apply(op, left, right, position: position), position: position)
        case .call(let function, let arguments, let position):
            var values: [Double] = []
            values.reserveCapacity(arguments.count)
            for argument in arguments { values.append(try argument.evaluate()) }
            return try Self.finite(function.apply(values, position: position), position: position)
        }
    }

    private static func apply(_ op: BinaryOperator, _ left: Double, _ right: Double,
                              position: Int) throws(ExpressionError) -> Double {
        switch op {
        case .add: return left + right
        case .subtract: return left - right
        case .multiply: return left * right
        case .divide:
            guard right != 0 else { throw divisionByZero(position) }
            return left / right
        case .remainder:
            guard right != 0 else { throw divisionByZero(position) }
            // Takes the sign of the dividend, as in C, JavaScript and Swift: -7 % 3 = -1.
            return left.truncatingRemainder(dividingBy: right)
        case .power:
            if left == 0, right < 0 { throw divisionByZero(position) }
            if left < 0, right != right.rounded() {
                throw ExpressionError(
                    .domain,
                    "Domain error at position \(position): a negative number to a fractional power "
                        + "(\(formatNumber(left))^\(formatNumber(right))) is not a real number",
                    position: position
                )
            }
            return Foundation.pow(left, right)
        }
    }

    private static func divisionByZero(_ position: Int) -> ExpressionError {
        ExpressionError(.divisionByZero, "Division by zero at position \(position)", position: position)
    }

    /// Rejects infinities and NaN so a result is always a number JSON can carry.
    private static func finite(_ value: Double, position: Int) throws(ExpressionError) -> Double {
        if value.isNaN {
            throw ExpressionError(.domain, "Domain error at position \(position): the result is not a real number",
                                  position: position)
        }
        if value.isInfinite {
            throw ExpressionError(.overflow, "The result at position \(position) is too large (overflow)",
                                  position: position)
        }
        return value
    }
}
