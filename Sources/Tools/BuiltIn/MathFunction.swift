import Foundation

/// The functions the calculator knows, with their arity and domain checks.
public enum MathFunction: String, Sendable, CaseIterable, Equatable {
    case sqrt, abs, ln, log10, log, exp
    case sin, cos, tan, asin, acos, atan
    case floor, ceil, round
    case min, max

    /// How many arguments the function takes.
    public var arity: ClosedRange<Int> {
        switch self {
        case .log: 1...2  // log(x) is the natural logarithm; log(x, base) any base.
        case .min, .max: 1...Int.max
        default: 1...1
        }
    }

    /// How to write a call, for error messages.
    var usage: String {
        switch self {
        case .log: "log(x) or log(x, base)"
        case .min, .max: "\(rawValue)(a, b, ...)"
        default: "\(rawValue)(x)"
        }
    }

    /// Applies the function; `position` is where its name starts, for error messages.
    func apply(_ arguments: [Double], position: Int) throws(ExpressionError) -> Double {
        guard let x = arguments.first, arity.contains(arguments.count) else {
            throw arityError(got: arguments.count, position: position)
        }
        switch self {
        case .sqrt:
            guard x >= 0 else { throw domain("sqrt is not defined for negative numbers (got \(formatNumber(x)))", position) }
            return x.squareRoot()
        case .abs: return Swift.abs(x)
        case .ln:
            guard x > 0 else { throw domain("ln is only defined for positive numbers (got \(formatNumber(x)))", position) }
            return Foundation.log(x)
        case .log10:
            guard x > 0 else { throw domain("log10 is only defined for positive numbers (got \(formatNumber(x)))", position) }
            return Foundation.log10(x)
        case .log:
            guard x > 0 else { throw domain("log is only defined for positive numbers (got \(formatNumber(x)))", position) }
            guard arguments.count == 2 else { return Foundation.log(x) }
            let base = arguments[1]
            guard base > 0, base != 1 else {
                throw domain("the base of log must be positive and not 1 (got \(formatNumber(base)))", position)
            }
            return Foundation.log(x) / Foundation.log(base)
        case .exp: return Foundation.exp(x)
        case .sin: return Foundation.sin(x)
        case .cos: return Foundation.cos(x)
        case .tan: return Foundation.tan(x)
        case .asin:
            guard (-1...1).contains(x) else { throw domain("asin is only defined between -1 and 1 (got \(formatNumber(x)))", position) }
            return Foundation.asin(x)
        case .acos:
            guard (-1...1).contains(x) else { throw domain("acos is only defined between -1 and 1 (got \(formatNumber(x)))", position) }
            return Foundation.acos(x)
        case .atan: return Foundation.atan(x)
        case .floor: return x.rounded(.down)
        case .ceil: return x.rounded(.up)
        // Halves round away from zero (round(2.5) = 3, round(-2.5) = -3), as people expect.
        case .round: return x.rounded(.toNearestOrAwayFromZero)
        case .min: return arguments.dropFirst().reduce(x) { Swift.min($0, $1) }
        case .max: return arguments.dropFirst().reduce(x) { Swift.max($0, $1) }
        }
    }

    /// The error for a call with `count` arguments, shared by the parser and evaluation.
    func arityError(got count: Int, position: Int) -> ExpressionError {
        ExpressionError(
            .wrongArgumentCount,
            "\(rawValue) expects \(arityPhrase) but got \(count) at position \(position); write \(usage)",
            position: position
        )
    }

    private var arityPhrase: String {
        switch self {
        case .log: "1 or 2 arguments"
        case .min, .max: "at least 1 argument"
        default: "1 argument"
        }
    }

    private func domain(_ text: String, _ position: Int) -> ExpressionError {
        ExpressionError(.domain, "Domain error at position \(position): \(text)", position: position)
    }
}

/// A number as the calculator writes it in messages: integers without `.0`.
func formatNumber(_ value: Double) -> String {
    if value.isFinite, value == value.rounded(), Swift.abs(value) < 1e15 { return String(Int64(value)) }
    return "\(value)"
}
