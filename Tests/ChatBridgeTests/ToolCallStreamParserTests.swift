import Foundation
import Testing

@testable import ChatBridge

/// What a model's text should become: the answer text and the calls, in order.
struct ParsedStep: Equatable, CustomStringConvertible {
    var text: String
    var calls: [PromptedToolCall]

    var description: String { "text: \(text.debugDescription), calls: \(calls.map { "\($0.name)(\($0.arguments))" })" }
}

/// A model output and what it must parse to.
struct ParserFixture: Sendable, CustomStringConvertible {
    var name: String
    var output: String
    var text: String
    var calls: [(String, String)]

    var description: String { name }

    var expected: ParsedStep {
        ParsedStep(text: text, calls: calls.map { PromptedToolCall(name: $0.0, arguments: $0.1) })
    }

    static let weather = #"{"city":"Paris"}"#
    static let multiply = #"{"expression":"1234 * 5678"}"#

    /// Real outputs recorded by the model scout (/work/wt/notes/model-outputs, llama-cpp-python
    /// 0.3.36 serving Qwen2.5-Coder-0.5B/1.5B-Instruct at temperature 0.8, tools in the system
    /// prompt); the file each came from is its name. Note that `<tool_call>` never appears: it is
    /// a special token of Qwen2.5 and the server leaves it out of the text.
    static let recorded: [ParserFixture] = [
        ParserFixture(name: "0.5b-prompted/weather-1-step1", output: """
            {
              "name": "get_weather",
              "arguments": {
                "city": "Paris"
              }
            }
            """, text: "", calls: [("get_weather", weather)]),
        ParserFixture(name: "0.5b-prompted/weather-2-step1 (fenced, with an invented extra key)", output: """
            ```json
            {
              "name": "get_weather",
              "arguments": {
                "city": "Paris"
              },
              "response": "It is currently 32 degrees Celsius in Paris."
            }
            ```
            """, text: "", calls: [("get_weather", weather)]),
        ParserFixture(name: "0.5b-prompted/calc-2-step1", output: """
            ```json
            {"name": "calculator", "arguments": {"expression": "1234 * 5678"}}
            ```
            """, text: "", calls: [("calculator", multiply)]),
        ParserFixture(name: "0.5b-prompted/calc-4-step1 (answers from its head)", output: "1234 * 5678 = 69580712",
                      text: "1234 * 5678 = 69580712", calls: []),
        ParserFixture(name: "0.5b-prompted/twostep-3-step1 (two calls, one per line)", output: """
            {"name": "get_weather", "arguments": {"city": "Paris"}}
            {"name": "calculator", "arguments": {"expression": "12*(3+4)"}}
            """, text: "", calls: [("get_weather", weather), ("calculator", #"{"expression":"12*(3+4)"}"#)]),
        ParserFixture(name: "0.5b-prompted/twostep-2-step2 (cut off before its last brace)",
                      output: #"{"name": "calculator", "arguments": {"expression": "12*(3+4)"}"#,
                      text: "", calls: [("calculator", #"{"expression":"12*(3+4)"}"#)]),
        ParserFixture(name: "1.5b-prompted/calc-3-step1 (call, then an invented result)", output: """
            ```json
            {
              "name": "calculator",
              "arguments": {
                "expression": "1234 * 5678"
              }
            }
            ```

            ```json
            <tool_response>7042852</tool_response>
            ```
            """, text: "", calls: [("calculator", multiply)]),
        ParserFixture(name: "1.5b-prompted/weather-1-step1 (call, then an invented result)", output: """
            {
              "name": "get_weather",
              "arguments": {
                "city": "Paris"
              }
            }

            <tool_response>
            Cloudy with a chance of rain, 15°C
            </tool_response>
            """, text: "", calls: [("get_weather", weather)]),
        ParserFixture(name: "1.5b-prompted/twostep-3-step1 (a call written as a result)",
                      output: #"<tool_response>{"name": "get_weather", "arguments": {"city": "Paris"}}</tool_response>"#,
                      text: "", calls: []),
        ParserFixture(name: "1.5b-prompted/calc-5-step1 (an invented result object)", output: #"{"tool_response": "718,372"}"#,
                      text: #"{"tool_response": "718,372"}"#, calls: []),
        ParserFixture(name: "1.5b-prompted-stop/twostep-1-step1 (prose, a fenced call, a dangling fence)", output: """
            To determine if it is raining in Paris right now, I'll use the "get_weather" tool.

            ```json
            {
              "name": "get_weather",
              "arguments": {
                "city": "Paris"
              }
            }
            ```

            ```json

            """, text: #"To determine if it is raining in Paris right now, I'll use the "get_weather" tool."#,
                      calls: [("get_weather", weather)]),
        ParserFixture(name: "0.5b-native/calc-1-step2 (arguments as a JSON string, then an invented result)", output: #"""
            {"name": "calculator", "arguments": "{\"expression\": \"7006652\"}"}
            {"result": 7006652}
            """#, text: "", calls: [("calculator", #"{"expression":"7006652"}"#)]),
        ParserFixture(name: "1.5b-prompted-hint/twostep-3-step1 (quotes the tools block instead of calling)",
                      output: ParserFixture.quotedTools, text: ParserFixture.quotedTools, calls: []),
        ParserFixture(name: "1.5b-prompted/calc-4-step2 (the final answer)", output: "The product of 1234 and 5678 is 7006652.",
                      text: "The product of 1234 and 5678 is 7006652.", calls: []),
        ParserFixture(name: "1.5b-grammar-hint/twostep-4-step2 (the final answer)",
                      output: "It is raining in Paris right now. The temperature is 18 degrees Celsius, and the conditions are light rain.",
                      text: "It is raining in Paris right now. The temperature is 18 degrees Celsius, and the conditions are light rain.",
                      calls: []),
        ParserFixture(name: "1.5b-grammar/weather-5-step1", output: #"{"name": "get_weather", "arguments": {"city": "Paris"}}"#,
                      text: "", calls: [("get_weather", weather)]),
    ]

    /// `1.5b-prompted-hint/twostep-3-step1-fail.txt`, byte for byte.
    static let quotedTools = #"""
            To determine if it is raining in Paris right now, I will use the `get_weather` function from the provided tools:

            ```xml
            <tools>
            {"type": "function", "function": {"name": "get_weather", "description": "Current weather for a city.", "parameters": {"type": "object", "properties": {"city": {"type": "string", "description": "City name, e.g. Paris"}}, "required": ["city"]}}}
            </tools>


            """#

    /// Hand-written outputs of the tagged format and of the tolerated mistakes (not recorded).
    static let handWritten: [ParserFixture] = [
        ParserFixture(name: "text, then a tagged call",
                      output: "Let me check.\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}\n</tool_call>",
                      text: "Let me check.", calls: [("get_weather", weather)]),
        ParserFixture(name: "two tagged calls",
                      output: #"<tool_call>{"name":"get_weather","arguments":{"city":"Paris"}}</tool_call>"#
                        + "\n" + #"<tool_call>{"name":"calculator","arguments":{"expression":"1234 * 5678"}}</tool_call>"#,
                      text: "", calls: [("get_weather", weather), ("calculator", multiply)]),
        ParserFixture(name: "trailing commas, single quotes, unquoted keys",
                      output: "<tool_call>{name: 'get_weather', arguments: {'city': 'Paris',},}</tool_call>",
                      text: "", calls: [("get_weather", weather)]),
        ParserFixture(name: "a fenced tagged call", output: "```xml\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}\n</tool_call>\n```",
                      text: "", calls: [("get_weather", weather)]),
        ParserFixture(name: "OpenAI's shape: function with string arguments",
                      output: #"<tool_call>{"function": {"name": "get_weather", "arguments": "{\"city\": \"Paris\"}"}}</tool_call>"#,
                      text: "", calls: [("get_weather", weather)]),
        ParserFixture(name: "parameters instead of arguments, closing tag forgotten",
                      output: #"<tool_call>{"name": "get_weather", "parameters": {"city": "Paris"}}"#,
                      text: "", calls: [("get_weather", weather)]),
        ParserFixture(name: "an array of calls in one tag",
                      output: #"<tool_call>[{"name": "get_weather", "arguments": {"city": "Paris"}}, {"name": "calculator", "arguments": {"expression": "1234 * 5678"}}]</tool_call>"#,
                      text: "", calls: [("get_weather", weather), ("calculator", multiply)]),
        ParserFixture(name: "malformed arguments stay raw (the engine returns a validation error)",
                      output: #"<tool_call>{"name": "get_weather", "arguments": {"city": }}</tool_call>"#,
                      text: "", calls: [("get_weather", #"{"name": "get_weather", "arguments": {"city": }}"#)]),
        ParserFixture(name: "garbage in a tag is a nameless call (the engine answers: unknown tool)",
                      output: "<tool_call>get the weather please</tool_call>", text: "",
                      calls: [("", "get the weather please")]),
        ParserFixture(name: "an answer that mentions tags and braces",
                      output: "Use <b>bold</b> and a set like\n{1, 2} or code:\n```swift\nlet x = { 1 }\n```\nDone.",
                      text: "Use <b>bold</b> and a set like\n{1, 2} or code:\n```swift\nlet x = { 1 }\n```\nDone.", calls: []),
        ParserFixture(name: "a JSON answer that is not a call",
                      output: "{\"temperature\": 18, \"unit\": \"C\"}\nThat is the data.",
                      text: "{\"temperature\": 18, \"unit\": \"C\"}\nThat is the data.", calls: []),
        ParserFixture(name: "non-ASCII text around nothing", output: "Il fait 18 °C à Paris — bruine. 🌧️",
                      text: "Il fait 18 °C à Paris — bruine. 🌧️", calls: []),
    ]
}

@Suite("Prompted tool calling: the incremental parser")
struct ToolCallStreamParserTests {
    static func parse(_ pieces: some Sequence<String>) -> ParsedStep {
        var parser = ToolCallStreamParser()
        var outputs: [ToolCallStreamParser.Output] = []
        for piece in pieces { outputs += parser.feed(piece) }
        outputs += parser.finish()
        var step = ParsedStep(text: "", calls: [])
        for output in outputs {
            switch output {
            case .text(let text): step.text += text
            case .call(let call): step.calls.append(call)
            }
        }
        return step
    }

    /// The output cut in two at every boundary, and fed one piece at a time. Streams carry text
    /// (decoded SSE JSON), so a boundary is between Unicode scalars: for the ASCII fixtures that
    /// is every byte boundary.
    static func checkEverySplit(_ fixture: ParserFixture) {
        let scalars = Array(fixture.output.unicodeScalars)
        func text(_ slice: ArraySlice<Unicode.Scalar>) -> String { String(String.UnicodeScalarView(slice)) }
        #expect(parse([fixture.output]) == fixture.expected, "whole: \(fixture.name)")
        #expect(parse(scalars.map { text([$0][...]) }) == fixture.expected, "one scalar at a time: \(fixture.name)")
        for cut in 0...scalars.count {
            let step = parse([text(scalars[..<cut]), text(scalars[cut...])])
            #expect(step == fixture.expected, "cut at \(cut): \(fixture.name)")
            if step != fixture.expected { return }  // one report per fixture is enough
        }
    }

    @Test("recorded model outputs, split at every boundary", arguments: ParserFixture.recorded)
    func recordedOutputs(_ fixture: ParserFixture) {
        Self.checkEverySplit(fixture)
    }

    @Test("hand-written outputs, split at every boundary", arguments: ParserFixture.handWritten)
    func handWrittenOutputs(_ fixture: ParserFixture) {
        Self.checkEverySplit(fixture)
    }

    @Test func answerTextStreamsBeforeTheEnd() {
        var parser = ToolCallStreamParser()
        var streamed = ""
        for word in ["The", " result", " is", " 7006652", "."] {
            for output in parser.feed(word) {
                if case .text(let text) = output { streamed += text }
            }
        }
        #expect(streamed == "The result is 7006652.", "nothing held back once it cannot be a call")
    }

    @Test func onlyAPossibleTagIsHeldBack() {
        var parser = ToolCallStreamParser()
        #expect(parser.feed("Checking <tool_") == [.text("Checking")])
        #expect(parser.feed("call>{\"name\": \"get_weather\", \"arguments\": {}}</tool_") == [])
        #expect(parser.feed("call> and more") == [.call(PromptedToolCall(name: "get_weather", arguments: "{}"))])
        #expect(parser.finish() == [], "text after a call is not passed on")

        var other = ToolCallStreamParser()
        #expect(other.feed("a <toy") == [.text("a <toy")], "not a tag prefix: released at once")
    }

    @Test func lenientJSON() throws {
        #expect(try LenientJSON.parse("{a: 1, 'b': [True, None,], c: \"x\\ny\",}") == ["a": 1, "b": [true, .null], "c": "x\ny"])
        #expect(try LenientJSON.parse(#"{"a": {"b": "cut"#) == ["a": ["b": "cut"]])
        #expect(throws: LenientJSON.Failure.self) { try LenientJSON.parse("{\"a\" 1}") }
        #expect(throws: LenientJSON.Failure.self) { try LenientJSON.parse(String(repeating: "[", count: 100)) }
    }
}
