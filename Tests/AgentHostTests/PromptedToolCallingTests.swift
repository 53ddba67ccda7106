import AgentHostTesting
import ArgumentParser
import ChatBridge
import Foundation
import Hummingbird
import HummingbirdTesting
import Testing

@testable import AgentHost

@Suite("Prompted tool calling through the agent engine", .timeLimit(.minutes(1)))
struct PromptedToolCallingTests {
    /// A model step that writes `text` as plain content tokens of `size` characters.
    static func content(_ text: String, size: Int = 3) -> UpstreamScript {
        var tokens: [String] = []
        var rest = Substring(text)
        while !rest.isEmpty {
            tokens.append(String(rest.prefix(size)))
            rest = rest.dropFirst(size)
        }
        return VendorStream.openAI(tokens: tokens)
    }

    /// What a client sees of a run, without the ids that differ between runs.
    static func summary(_ frames: [JSONValue]) -> [String] {
        var lines: [String] = []
        for frame in frames {
            let type = frame.type ?? "?"
            switch type {
            case "agent_token":
                // Tokens are split differently by the two modes; their text per step is what counts.
                let line = "agent_token \(frame["step"]?.intValue ?? 0)"
                if lines.last?.hasPrefix(line) == true {
                    lines[lines.count - 1] += frame["token"]?.stringValue ?? ""
                } else {
                    lines.append(line + " " + (frame["token"]?.stringValue ?? ""))
                }
            case "tool_call":
                lines.append("tool_call " + [frame["name"], frame["arguments"], frame["executor"], frame["step"]].map(Self.text).joined(separator: " "))
            case "tool_result":
                lines.append("tool_result " + [frame["name"], frame["output"], frame["is_error"]].map(Self.text).joined(separator: " "))
            case "agent_complete":
                lines.append("agent_complete " + [frame["status"], frame["response"], frame["steps"]].map(Self.text).joined(separator: " "))
            default:
                lines.append(type)
            }
        }
        return lines
    }

    static func text(_ value: JSONValue?) -> String { value?.serializedString ?? "-" }

    /// A client tool, then a server tool, then the answer; returns the frames and the model's requests.
    static func clientThenServerTool(prompted: Bool) async throws -> (frames: [JSONValue], requests: [JSONValue]) {
        try await TestHarness.withUpstream { harness, upstream in
            try await harness.addWorkspace("Ops") { $0.toolCalling = prompted ? .prompted : nil }
            if prompted {
                await upstream.enqueue(
                    content("<tool_call>\n{\"name\": \"get_location\", \"arguments\": {\"precision\": \"city\"}}\n</tool_call>"),
                    // The form Qwen2.5 models take under llama.cpp: the tags are special tokens left out of the text.
                    content("{\"name\": \"calculator\", \"arguments\": {\"expression\": \"6*7\"}}"),
                    AgentScripts.answer("You are in Lyon, and 6*7 is 42."))
            } else {
                await upstream.enqueue(AgentScripts.calls([("c1", "get_location", #"{"precision": "city"}"#)]),
                                       AgentScripts.calls([("c2", "calculator", #"{"expression": "6*7"}"#)]),
                                       AgentScripts.answer("You are in Lyon, and 6*7 is 42."))
            }
            let frames = try await harness.testLive { client in
                let collected = Collected()
                try await client.agentSocket("ops") { socket in
                    try await socket.send(AgentSocketTests.invoke("Where am I, and what is 6*7?",
                                                                  ["client_tools": [AgentSocketTests.locationTool]]))
                    let call = try await socket.next("tool_call")
                    try await socket.send(["type": "tool_result", "invocation_id": try #require(call["invocation_id"]),
                                           "call_id": try #require(call["call_id"]), "output": ["city": "Lyon"]])
                    _ = try await socket.untilComplete()
                    await collected.set(socket.received)
                }
                return await collected.frames
            }
            return (frames, await upstream.exchanges.map(\.body))
        }
    }

    @Test func aClientCannotTellPromptedFromNative() async throws {
        let native = try await Self.clientThenServerTool(prompted: false)
        let prompted = try await Self.clientThenServerTool(prompted: true)
        #expect(Self.summary(prompted.frames) == Self.summary(native.frames))
        #expect(Self.summary(native.frames) == [
            "agent_start",
            #"tool_call "get_location" {"precision":"city"} "client" 1"#,
            #"tool_result "get_location" {"city":"Lyon"} false"#,
            #"tool_call "calculator" {"expression":"6*7"} "server" 2"#,
            #"tool_result "calculator" {"expression":"6*7","result":42} false"#,
            "agent_token 3 You are in Lyon, and 6*7 is 42.",
            #"agent_complete "completed" "You are in Lyon, and 6*7 is 42." 3"#,
        ])

        // What the model was sent in prompted mode: tools in the system prompt, results as text.
        try #require(prompted.requests.count == 3)
        let first = prompted.requests[0]
        #expect(first["tools"] == nil)
        #expect(first["stop"] == ["<tool_response>"])
        #expect(first["grammar"] == nil, "constrained decoding is off unless set")
        #expect(first["cache_prompt"] == nil)
        let system = try #require(first["messages"]?.arrayValue?.first?["content"]?.stringValue)
        #expect(system.contains(#""name":"get_location""#) && system.contains(#""name":"calculator""#) && system.contains("<tool_call>"))
        let third = try #require(prompted.requests[2]["messages"]?.arrayValue)
        #expect(!third.contains { $0["role"] == "tool" }, "no native tool messages")
        #expect(third.contains { $0["role"] == "assistant" && $0["content"]?.stringValue?.contains(#"{"name": "calculator", "arguments": {"expression":"6*7"}}"#) == true })
        let lastUser = try #require(third.last { $0["role"] == "user" }?["content"]?.stringValue)
        #expect(lastUser.hasPrefix("<tool_response>\n" + #"{"name": "calculator", "content": {"expression":"6*7","result":42}}"# + "\n</tool_response>"))
        #expect(third.first?["content"] == first["messages"]?.arrayValue?.first?["content"], "the same system prefix every step")
    }

    @Test func aMalformedCallGoesBackToTheModelAsAnError() async throws {
        try await TestHarness.withUpstream(configure: { configuration in
            configuration.llm.toolCalling = .auto  // the fake upstream is a local OpenAI-compatible server: prompted
            configuration.llm.constrainedDecoding = true
            configuration.llm.promptCache = true
        }) { harness, upstream in
            try await harness.addWorkspace("Ops")
            await upstream.enqueue(
                Self.content(#"<tool_call>{"name": "calculator", "arguments": {"expression": }}</tool_call>"#),
                Self.content(#"<tool_call>{"name": "calculator", "arguments": {"expression": 42}}</tool_call>"#),
                Self.content(#"{'name': 'calculator', arguments: {expression: '6*7',},}"#),
                AgentScripts.answer("It is 42."))
            try await harness.testLive { client in
                try await client.agentSocket("ops") { socket in
                    try await socket.send(AgentSocketTests.invoke("What is 6*7?", ["tools": ["calculator"]]))
                    let complete = try await socket.untilComplete()
                    #expect(complete["status"] == "completed")
                    #expect(complete["steps"] == 4)
                    let results = socket.received.filter { $0.type == "tool_result" }
                    try #require(results.count == 3)
                    #expect(results[0]["is_error"] == true)
                    #expect(results[0]["output"]?["error"]?.stringValue?.contains("not valid JSON") == true)
                    #expect(results[1]["is_error"] == true, "schema violation: expression must be a string")
                    #expect(results[2]["is_error"] == false)
                    #expect(results[2]["output"]?["result"] == 42)
                    #expect(socket.received.filter { $0.type == "tool_call" }.count == 1, "only the valid call runs")
                    #expect(!socket.received.contains { $0.type == "agent_token" && $0["step"] != 4 })
                }
            }
            let requests = await upstream.exchanges.map(\.body)
            try #require(requests.count == 4)
            let second = try #require(requests[1]["messages"]?.arrayValue?.last?["content"]?.stringValue)
            #expect(second.contains("<tool_response>") && second.contains("not valid JSON"), "the model sees its mistake")
            #expect(requests[0]["grammar"]?.stringValue?.hasPrefix("root ::= answer | calls") == true)
            #expect(requests[0]["cache_prompt"] == true)
        }
    }

    @Test func workspaceSettingIsValidatedAndShown() async throws {
        let harness = try await TestHarness()
        try await harness.test { client in
            let created = try await client.send(.post, "/api/workspaces", json: #"{"name": "Local", "tool_calling": "prompted"}"#)
            #expect(created.status == .created)
            #expect(try created.json["tool_calling"] == "prompted")
            let plain = try await client.send(.post, "/api/workspaces", json: #"{"name": "Plain"}"#)
            #expect(try plain.json["tool_calling"] == .null, "null: the provider's mode")
            let bad = try await client.send(.patch, "/api/workspaces/local", json: #"{"tool_calling": "sometimes"}"#)
            #expect(bad.status == .badRequest)
            #expect(bad.errorCode == "validation_failed")
            let native = try await client.send(.patch, "/api/workspaces/local", json: #"{"tool_calling": "native"}"#)
            #expect(try native.json["tool_calling"] == "native")
            #expect(try await client.send(.get, "/api/workspaces/local").json["tool_calling"] == "native")
            let cleared = try await client.send(.patch, "/api/workspaces/local", json: #"{"tool_calling": null}"#)
            #expect(try cleared.json["tool_calling"] == .null)
        }
    }

    @Test func commandLineOptions() throws {
        var local = ProviderSettings(kind: .openai, baseURL: "http://127.0.0.1:8088/v1", apiKey: nil, model: "m")
        try ToolCallingOptions.parse(["--llm-tool-calling", "prompted", "--llm-prompt-cache", "off"]).apply(to: &local)
        #expect(local.toolCalling == .prompted)
        #expect(local.constrainedDecoding, "auto: on for a server on this machine")
        #expect(!local.promptCache)
        var vendor = ProviderSettings(kind: .openai, baseURL: "https://api.openai.com/v1", apiKey: "k", model: "m")
        try ToolCallingOptions.parse([]).apply(to: &vendor)
        #expect(vendor.toolCalling == .auto && !vendor.constrainedDecoding && !vendor.promptCache)
        #expect(throws: ValidationError.self) {
            try ToolCallingOptions.parse(["--llm-tool-calling", "sometimes"]).apply(to: &vendor)
        }
    }
}

/// Frames handed out of a socket closure.
private actor Collected {
    var frames: [JSONValue] = []
    func set(_ frames: [JSONValue]) { self.frames = frames }
}
