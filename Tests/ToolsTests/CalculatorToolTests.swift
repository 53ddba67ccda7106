import ChatBridge
import Foundation
import Testing
@testable import Tools

@Suite struct CalculatorToolTests {
    @Test func returnsTheExpressionAndItsResult() async throws {
        let fixture = try await StoreFixture()
        let output = try await CalculatorTool().run(arguments: ["expression": "2 * (3 + 4)"], context: fixture.context())
        #expect(output == ["expression": "2 * (3 + 4)", "result": 14])
        #expect(output.serializedString == #"{"expression":"2 * (3 + 4)","result":14}"#)
    }

    @Test func hidesFloatingPointNoiseButKeepsLargeIntegersExact() async throws {
        let fixture = try await StoreFixture()
        func result(_ expression: String) async throws -> JSONValue? {
            try await CalculatorTool().run(arguments: ["expression": .string(expression)], context: fixture.context())["result"]
        }
        #expect(try await result("0.1 + 0.2") == 0.3)
        #expect(try await result("2^53 + 1") == .number(9_007_199_254_740_992))
        #expect(try await result("2^53") == .number(9_007_199_254_740_992))
        #expect(try await result("1/3") == .number(0.333333333333333))
        #expect(try await result("-0") == 0)
        #expect(try await result("-0")?.serializedString == "0")
    }

    @Test func reportsParseAndMathErrorsAsToolErrors() async throws {
        let fixture = try await StoreFixture()
        let error = await #expect(throws: ToolError.self) {
            try await CalculatorTool().run(arguments: ["expression": "1 / (2 - 2)"], context: fixture.context())
        }
        #expect(error?.message == #"Could not evaluate "1 / (2 - 2)": Division by zero at position 3"#)
        await #expect(throws: ToolError.self) {
            try await CalculatorTool().run(arguments: ["expr": "1"], context: fixture.context())
        }
    }
}
