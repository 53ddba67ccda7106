import AgentHostTesting
@testable import ChatBridge
import Testing

@testable import AgentHost

/// The OpenAI request body written straight to bytes is exactly the one the `JSONValue` tree gave.
@Suite("OpenAI request body")
struct OpenAIRequestBodyTests {
    /// Texts that exercise escaping: quotes, backslashes, every control character, non-ASCII, emoji.
    static let awkward = "quote \" backslash \\ slash / newline \n return \r tab \t nul \u{0} bell \u{7} unit \u{1F} del \u{7F} "
        + "</script> é 中文 👩‍👩‍👧 \u{2028}\u{2029} combining e\u{301} \u{FEFF}"
        + String((0..<32).map { Character(Unicode.Scalar(UInt8($0))) })

    static let tool = ToolDefinition(
        name: "look_up", description: "Looks \"things\" up.\nSecond line: \(awkward)",
        parameters: ["type": "object", "required": ["query"], "additionalProperties": false,
                     "properties": ["query": ["type": "string", "description": .string(awkward), "maxLength": 200],
                                    "limit": ["type": "integer", "minimum": 1, "maximum": 1e20, "default": 2.5],
                                    "z": ["enum": [nil, true, 0, -1, 0.1, "a"]], "A": [:], "_": []]])

    static let conversation: [LLMMessage] = [
        .system("You are terse. \(awkward)"),
        .user("plain question"),
        .user("look at these \(awkward)", images: [ImageAttachment(mime: "image/png", base64: "iVBORw0KGgo="),
                                                    ImageAttachment(mime: "image/jpeg", base64: "/9j/4AAQ+/=")]),
        .assistant("", toolCalls: [ToolCall(id: "call_1", name: "look_up", arguments: #"{"query": "a \"b\" \\ c\n"}"#),
                                   ToolCall(id: "call_2", name: "look_up", arguments: "not json {")]),
        .tool(callId: "call_1", name: "look_up", output: #"{"hits":["é","👍"]}"#, isError: false),
        .tool(callId: "call_2", name: "look_up", output: awkward, isError: true),
        .assistant("answer with text \(awkward)"),
        .assistant("text and a call", toolCalls: [ToolCall(id: "c", name: "n", arguments: "")]),
        .user(""),
    ]

    static let requests: [LLMRequest] = [
        LLMRequest(model: "m", messages: []),
        LLMRequest(model: "gpt-4o \(awkward)", messages: conversation),
        LLMRequest(model: "m", messages: conversation, tools: [tool, ToolDefinition(name: "none", description: "", parameters: [:])],
                   toolChoice: .auto, temperature: 0.7, maxTokens: 512),
        LLMRequest(model: "m", messages: conversation, tools: [tool], toolChoice: .none, temperature: 1, maxTokens: 0),
        LLMRequest(model: "m", messages: conversation, tools: [tool], toolChoice: .required, temperature: 1e-7, stop: ["\n\n", awkward]),
        LLMRequest(model: "m", messages: conversation, tools: [tool], toolChoice: .tool("look_\"up"), temperature: -0.5,
                   grammar: "root ::= \"a\" | [\\n]\n", stop: ["x"]),
        LLMRequest(model: "m", messages: [.user("hi")], toolChoice: .tool("ignored without tools"), temperature: .nan, maxTokens: 1 << 40),
    ]

    @Test(arguments: 0..<requests.count, [false, true])
    func bytesAreThoseOfTheJSONTree(index: Int, promptCache: Bool) throws {
        let request = Self.requests[index]
        let tree = OpenAIProvider.body(for: request, promptCache: promptCache)
        let written = OpenAIProvider.bodyBytes(for: request, promptCache: promptCache)
        #expect(written == tree.serialized(), "\(String(decoding: written, as: UTF8.self))")
        // And as JSON any parser reads: the same value.
        #expect(try JSONValue(parsing: written) == JSONValue(parsing: tree.serialized()))
    }

    @Test func theUpstreamReceivesTheSameJSONAsBefore() async throws {
        try await FakeUpstream.run(FakeUpstream()) { upstream in
            let provider = ProviderStreamingTests.provider(.openai, baseURL: await upstream.baseURL)
            for request in Self.requests {
                _ = try await ProviderStreamingTests.collect(provider, request)
            }
            let bodies = await upstream.exchanges.map(\.body)
            try #require(bodies.count == Self.requests.count)
            for (body, request) in zip(bodies, Self.requests) {
                #expect(body == (try JSONValue(parsing: OpenAIProvider.body(for: request).serialized())))
                #expect(body["messages"]?.arrayValue?.count == request.messages.count)
            }
            // Spot checks on what a vendor reads, so the comparison above is not vacuous.
            let tools = try #require(bodies[2]["tools"]?.arrayValue)
            #expect(tools.first?["function"]?["parameters"]?["properties"]?["query"]?["description"]?.stringValue == Self.awkward)
            let messages = try #require(bodies[1]["messages"]?.arrayValue)
            #expect(messages[2]["content"]?.arrayValue?[1]["image_url"]?["url"] == "data:image/png;base64,iVBORw0KGgo=")
            #expect(messages[3]["tool_calls"]?.arrayValue?[0]["function"]?["arguments"]?.stringValue == #"{"query": "a \"b\" \\ c\n"}"#)
            #expect(bodies[5]["tool_choice"] == ["type": "function", "function": ["name": "look_\"up"]])
            #expect(bodies[2]["temperature"] == 0.7)
        }
    }
}
