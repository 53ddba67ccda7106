import ChatBridge
import Foundation

/// `calculator`: evaluates an arithmetic expression with ``ExpressionParser`` so the model does not
/// have to do arithmetic in its head.
public struct CalculatorTool: Tool {
    public static let toolName = "calculator"

    public var name: String { Self.toolName }

    public init() {}

    /// Arguments `{"expression": string}`; result `{"expression", "result": number}`.
    public func run(arguments: JSONValue, context: ToolContext) async throws -> JSONValue {
        guard let expression = arguments["expression"]?.stringValue else {
            throw ToolError(#"calculator needs a string argument 'expression', e.g. {"expression": "2 * (3 + 4)"}"#)
        }
        let value: Double
        do throws(ExpressionError) {
            value = try ExpressionParser.evaluate(expression)
        } catch {
            throw ToolError("Could not evaluate \(JSONValue.string(expression).serializedString): \(error.message)")
        }
        return ["expression": .string(expression), "result": .number(Self.tidy(value))]
    }

    /// Rounds a fractional result to 15 significant digits, hiding binary floating-point noise the
    /// model would otherwise repeat to the user (0.1 + 0.2 gives 0.3, not 0.30000000000000004).
    /// Integral results are left exact: rounding them would corrupt large integers such as 2^53.
    static func tidy(_ value: Double) -> Double {
        if value == 0 { return 0 }  // Also turns -0 into 0.
        guard value != value.rounded() else { return value }
        return Double(String(format: "%.15g", value)) ?? value
    }
}
