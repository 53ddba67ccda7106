import AgentHostTesting
import ChatBridge
import Foundation
import Hummingbird
import HummingbirdTesting
import NIOCore
import Testing

@testable import AgentHost

@Suite("ws/agent: the invocation engine over a real WebSocket", .timeLimit(.minutes(1)))
struct AgentSocketTests {
    static func invoke(_ message: String, _ extra: [String: JSONValue] = [:]) -> JSONValue {
        var frame: [String: JSONValue] = ["type": "agent_invoke", "message": .string(message)]
        for (key, value) in extra { frame[key] = value }
        return .object(frame)
    }

    static let locationTool: JSONValue = [
        "name": "get_location", "description": "The user's city",
        "parameters": ["type": "object", "properties": ["precision": ["type": "string", "enum": ["city", "country"]]],
                       "required": ["precision"], "additionalProperties": false],
    ]

    @Test func serverToolRoundTrip() async throws {
        try await TestHarness.withUpstream { harness, upstream in
            try await harness.addWorkspace("Ops")
            await upstream.enqueue(AgentScripts.calls([("call_1", "calculator", #"{"expression": "2+2"}"#)]),
                                   AgentScripts.answer("It is 4."))
            try await harness.testLive { client in
                try await client.agentSocket("ops") { socket in
                    try await socket.send(Self.invoke("What is 2+2?", ["request_id": "r-1"]))
                    let complete = try await socket.untilComplete()
                    let frames = socket.received
                    #expect(frames.first?.type == "agent_start")
                    #expect(frames.first?["request_id"] == "r-1")
                    #expect(frames.map { $0["seq"]?.intValue } == Array(0..<frames.count).map { $0 }, "seq is 0, 1, 2… without gaps")
                    let invocationId = try #require(frames.first?["invocation_id"]?.stringValue)
                    #expect(frames.allSatisfy { $0["invocation_id"]?.stringValue == invocationId })
                    let call = try #require(frames.first { $0.type == "tool_call" })
                    #expect(call["executor"] == "server")
                    #expect(call["arguments"] == ["expression": "2+2"])
                    let result = try #require(frames.first { $0.type == "tool_result" })
                    #expect(result["is_error"] == false)
                    #expect(result["output"]?["result"] == 4)
                    #expect(complete["status"] == "completed")
                    #expect(complete["response"] == "It is 4.")
                    #expect(complete["steps"] == 2)

                    // The model saw the tool result in its second step.
                    let second = try #require(await upstream.exchanges.last?.body["messages"]?.arrayValue)
                    #expect(second.last?["role"] == "tool")
                    #expect(second.last?["tool_call_id"] == "call_1")
                    #expect(second.last?["content"]?.stringValue?.contains("4") == true)
                    #expect(await upstream.exchanges.first?.body["tools"]?.arrayValue?.isEmpty == false)

                    // The answer is a chat of the thread, so it shows in history.
                    let dbId = try #require(complete["db_id"]?.intValue)
                    let chat = try #require(try await harness.store.chat(id: Int64(dbId), viewer: .singleUser)?.chat)
                    #expect(chat.prompt == "What is 2+2?")
                    #expect(chat.response == "It is 4.")
                    #expect(chat.status == .completed)
                }
            }
        }
    }

    @Test func clientToolRoundTripAndRESTInspection() async throws {
        try await TestHarness.withUpstream { harness, upstream in
            try await harness.addWorkspace("Ops")
            await upstream.enqueue(AgentScripts.calls([("c1", "get_location", #"{"precision": "city"}"#)]),
                                   AgentScripts.answer("You are in Lyon."))
            try await harness.testLive { client in
                let started = Started()
                try await client.agentSocket("ops") { socket in
                    try await socket.send(Self.invoke("Where am I?", ["client_tools": [Self.locationTool]]))
                    let call = try await socket.next("tool_call")
                    #expect(call["executor"] == "client")
                    #expect(call["name"] == "get_location")
                    #expect(call["timeout_ms"] == 60000)
                    let invocationId = call["invocation_id"]?.stringValue ?? ""
                    await started.set(invocationId)
                    try await socket.send(["type": "tool_result", "invocation_id": .string(invocationId), "call_id": "c1",
                                           "output": ["city": "Lyon"]])
                    let result = try await socket.next("tool_result")
                    #expect(result["output"] == ["city": "Lyon"])
                    let complete = try await socket.untilComplete()
                    #expect(complete["response"] == "You are in Lyon.")
                    // Answering again is refused with an error frame; the socket stays usable.
                    try await socket.send(["type": "tool_result", "invocation_id": .string(invocationId), "call_id": "c1", "output": 1])
                    let error = try await socket.next("error")
                    #expect(error["call_id"] == "c1")
                    try await socket.send(["type": "ping"])
                    #expect(try await socket.next().type == "pong")
                }
                let run = try await client.send(.get, "/api/agent/invocations/\(await started.id)").json
                #expect(run["status"] == "completed")
                #expect(run["steps"] == 2)
                let log = try #require(run["step_log"]?.arrayValue)
                #expect(log.count == 2)
                let toolCall = try #require(log.first?["tool_calls"]?.arrayValue?.first)
                #expect(toolCall["name"] == "get_location")
                #expect(toolCall["executor"] == "client")
                #expect(toolCall["arguments"] == ["precision": "city"])
                #expect(toolCall["output"] == ["city": "Lyon"])
                #expect(log.last?["text"] == "You are in Lyon.")
                let history = try await client.send(.get, "/api/chats/history?workspace=ops").json
                #expect(history["history"]?.arrayValue?.last?["content"] == "You are in Lyon.")
            }
        }
    }

    @Test func threeParallelCallsMixingServerAndClient() async throws {
        try await TestHarness.withUpstream { harness, upstream in
            try await harness.addWorkspace("Ops")
            await upstream.enqueue(AgentScripts.calls([
                ("a", "calculator", #"{"expression": "6*7"}"#),
                ("b", "get_location", #"{"precision": "country"}"#),
                ("c", "current_time", #"{"time_zone": "UTC"}"#),
            ]), AgentScripts.answer("Done."))
            try await harness.testLive { client in
                try await client.agentSocket("ops") { socket in
                    try await socket.send(Self.invoke("Do three things", ["client_tools": [Self.locationTool]]))
                    let call = try await socket.next("tool_call")
                    // Server tools finish on their own while the client call is outstanding.
                    var call_ = call
                    while call_["executor"] != "client" { call_ = try await socket.next("tool_call") }
                    let invocationId = try #require(call_["invocation_id"])
                    try await socket.send(["type": "tool_result", "invocation_id": invocationId, "call_id": "b", "output": "France"])
                    let complete = try await socket.untilComplete()
                    #expect(complete["status"] == "completed")
                    let results = socket.received.filter { $0.type == "tool_result" }
                    #expect(Set(results.compactMap { $0["call_id"]?.stringValue }) == ["a", "b", "c"])
                    #expect(socket.received.filter { $0.type == "tool_call" }.count == 3)
                    _ = call
                }
                // The next step saw all three results, in the order the model asked for them.
                let messages = try #require(await upstream.exchanges.last?.body["messages"]?.arrayValue)
                #expect(messages.suffix(3).map { $0["tool_call_id"] } == ["a", "b", "c"])
            }
        }
    }

    @Test func invalidArgumentsGoBackToTheModel() async throws {
        try await TestHarness.withUpstream { harness, upstream in
            try await harness.addWorkspace("Ops")
            await upstream.enqueue(AgentScripts.calls([("bad", "calculator", #"{"expr": "1+1"}"#)]),
                                   AgentScripts.calls([("good", "calculator", #"{"expression": "1+1"}"#)]),
                                   AgentScripts.answer("2"))
            try await harness.testLive { client in
                try await client.agentSocket("ops") { socket in
                    try await socket.send(Self.invoke("1+1"))
                    let complete = try await socket.untilComplete()
                    #expect(complete["status"] == "completed")
                    #expect(complete["steps"] == 3)
                    let calls = socket.received.filter { $0.type == "tool_call" }
                    #expect(calls.map { $0["call_id"] } == ["good"], "an invalid call is never run or sent")
                    let first = try #require(socket.received.first { $0.type == "tool_result" })
                    #expect(first["call_id"] == "bad")
                    #expect(first["is_error"] == true)
                    #expect(first["output"]?["error"]?.stringValue?.contains("expression") == true)
                }
                let second = try #require(await upstream.exchanges.dropFirst().first?.body["messages"]?.arrayValue)
                #expect(second.last?["content"]?.stringValue?.contains("expression") == true, "the model reads the validation error")
            }
        }
    }

    @Test func clientToolTimeoutBecomesAnErrorResult() async throws {
        try await TestHarness.withUpstream { harness, upstream in
            try await harness.addWorkspace("Ops")
            await upstream.enqueue(AgentScripts.calls([("slow", "get_location", #"{"precision": "city"}"#)]),
                                   AgentScripts.answer("I could not find out."))
            var tool = Self.locationTool.objectValue!
            tool["timeout_ms"] = 200
            let declared = JSONValue.object(tool)
            try await harness.testLive { client in
                try await client.agentSocket("ops") { socket in
                    try await socket.send(Self.invoke("Where?", ["client_tools": [declared]]))
                    let call = try await socket.next("tool_call")
                    #expect(call["timeout_ms"] == 200)
                    let result = try await socket.next("tool_result")
                    #expect(result["is_error"] == true)
                    #expect(result["output"]?["code"] == "tool_timeout")
                    try await socket.send(["type": "tool_result", "invocation_id": call["invocation_id"]!, "call_id": "slow", "output": "late"])
                    var sawLateError = false
                    var complete: JSONValue = .null
                    while complete == .null {
                        let frame = try await socket.next()
                        if frame.type == "error", frame["call_id"] == "slow" { sawLateError = true }
                        if frame.type == "agent_complete" { complete = frame }
                    }
                    #expect(complete["status"] == "completed")
                    if !sawLateError { #expect(try await socket.next("error")["call_id"] == "slow") }
                }
            }
        }
    }

    @Test(arguments: [true, false])
    func approvalGrantedOrDenied(approved: Bool) async throws {
        try await TestHarness.withUpstream { harness, upstream in
            try await harness.addWorkspace("Ops")
            await upstream.enqueue(AgentScripts.calls([("del", "delete_file", #"{"path": "/tmp/x"}"#)]), AgentScripts.answer("ok"))
            let tool: JSONValue = ["name": "delete_file", "description": "Deletes a file", "requires_approval": true,
                                   "parameters": ["type": "object", "properties": ["path": ["type": "string"]], "required": ["path"]]]
            try await harness.testLive { client in
                try await client.agentSocket("ops") { socket in
                    try await socket.send(Self.invoke("delete it", ["client_tools": [tool]]))
                    let request = try await socket.next("approval_required")
                    #expect(request["arguments"] == ["path": "/tmp/x"])
                    #expect(!socket.received.contains { $0.type == "tool_call" }, "nothing is sent before approval")
                    try await socket.send(["type": "approval", "invocation_id": request["invocation_id"]!, "call_id": "del",
                                           "approved": .bool(approved), "reason": "not that file"])
                    if approved {
                        let call = try await socket.next("tool_call")
                        try await socket.send(["type": "tool_result", "invocation_id": call["invocation_id"]!, "call_id": "del",
                                               "output": "deleted"])
                        #expect(try await socket.next("tool_result")["output"] == "deleted")
                    } else {
                        let result = try await socket.next("tool_result")
                        #expect(result["is_error"] == true)
                        #expect(result["output"]?["error"]?.stringValue?.contains("not that file") == true)
                    }
                    #expect(try await socket.untilComplete()["status"] == "completed")
                    #expect(socket.received.contains { $0.type == "tool_call" } == approved)
                }
            }
        }
    }

    @Test func cancelMidTokenStopsTheUpstream() async throws {
        try await TestHarness.withUpstream { harness, upstream in
            try await harness.addWorkspace("Ops")
            await upstream.enqueue(VendorStream.openAI(tokens: (0..<500).map { "w\($0) " }).paced(.milliseconds(10)))
            try await harness.testLive { client in
                try await client.agentSocket("ops") { socket in
                    try await socket.send(Self.invoke("write a lot"))
                    let token = try await socket.next("agent_token")
                    try await socket.send(["type": "cancel", "invocation_id": token["invocation_id"]!])
                    let complete = try await socket.untilComplete()
                    #expect(complete["status"] == "cancelled")
                    #expect(complete["response"]?.stringValue?.hasPrefix("w0") == true)
                    let dbId = try #require(complete["db_id"]?.intValue)
                    let chat = try #require(try await harness.store.chat(id: Int64(dbId), viewer: .singleUser)?.chat)
                    #expect(chat.status == .cancelled)
                    #expect(!chat.response.isEmpty, "the partial answer is stored")
                }
                let exchanges = await upstream.waitForEndedExchanges(1)
                #expect(exchanges.first?.abandoned == true, "cancel closes the upstream connection")
            }
        }
    }

    @Test func disconnectThenResumeReplaysWithoutGapsAndResendsThePendingCall() async throws {
        try await TestHarness.withUpstream { harness, upstream in
            try await harness.addWorkspace("Ops")
            await upstream.enqueue(AgentScripts.calls([("c1", "get_location", #"{"precision": "city"}"#)]), AgentScripts.answer("Lyon it is."))
            try await harness.testLive { client in
                let seen = SeenFrames()
                try await client.agentSocket("ops") { socket in
                    try await socket.send(Self.invoke("Where am I?", ["client_tools": [Self.locationTool]]))
                    _ = try await socket.next("tool_call")
                    await seen.set(socket.received)
                    // The connection drops here, with the call unanswered.
                }
                let before = await seen.frames
                let invocationId = try #require(before.first?["invocation_id"])
                let lastSeq = try #require(before.last?["seq"]?.intValue)
                try await client.agentSocket("ops") { socket in
                    try await socket.send(["type": "resume", "invocation_id": invocationId, "after_seq": .number(Double(lastSeq))])
                    let resent = try await socket.next("tool_call")
                    #expect(resent["call_id"] == "c1", "the pending client call is sent again")
                    try await socket.send(["type": "tool_result", "invocation_id": invocationId, "call_id": "c1", "output": "Lyon"])
                    _ = try await socket.untilComplete()
                    let after = socket.received.filter { $0["seq"]!.intValue! > lastSeq }
                    #expect(after.map { $0["seq"]!.intValue! } == Array((lastSeq + 1)...(lastSeq + after.count)), "no gaps, no repeats")
                    #expect(after.last?["response"] == "Lyon it is.")
                }
                // A resume from 0 replays the whole run in order.
                try await client.agentSocket("ops") { socket in
                    try await socket.send(["type": "resume", "invocation_id": invocationId, "after_seq": -1])
                    let complete = try await socket.untilComplete()
                    #expect(socket.received.map { $0["seq"]!.intValue! } == Array(0...complete["seq"]!.intValue!))
                }
            }
        }
    }

    @Test func resumeByAnotherUserIsForbidden() async throws {
        try await TestHarness.withUpstream { harness, upstream in
            try await harness.addWorkspace("Ops")
            let alice = try await harness.addUser("alice")
            let mallory = try await harness.addUser("mallory")
            let aliceToken = try await harness.token(for: alice)
            let malloryToken = try await harness.token(for: mallory)
            await upstream.enqueue(AgentScripts.calls([("c1", "get_location", #"{"precision": "city"}"#)]))
            try await harness.testLive { client in
                let seen = SeenFrames()
                try await client.agentSocket("ops", token: aliceToken) { socket in
                    try await socket.send(Self.invoke("Where?", ["client_tools": [Self.locationTool]]))
                    await seen.set([try await socket.next("tool_call")])
                }
                let invocationId = try #require(await seen.frames.first?["invocation_id"])
                try await client.agentSocket("ops", token: malloryToken) { socket in
                    try await socket.send(["type": "resume", "invocation_id": invocationId, "after_seq": -1])
                    let error = try await socket.next()
                    #expect(error.type == "error")
                    #expect(error["code"] == "forbidden")
                    try await socket.send(["type": "tool_result", "invocation_id": invocationId, "call_id": "c1", "output": "x"])
                    #expect(try await socket.next()["code"] == "forbidden")
                    try await socket.send(["type": "cancel", "invocation_id": invocationId])
                    #expect(try await socket.next()["code"] == "forbidden")
                }
                // No credentials at all: refused before the upgrade.
                await #expect(throws: (any Error).self) {
                    try await client.agentSocket("ops") { _ in }
                }
            }
        }
    }

    @Test func severalRunsOnOneConnectionAndTheConcurrencyLimit() async throws {
        try await TestHarness.withUpstream(configure: { $0.agent.maxConcurrentPerUser = 2 }) { harness, upstream in
            try await harness.addWorkspace("Ops")
            for index in 0..<2 {
                await upstream.enqueue(AgentScripts.calls([("c\(index)", "get_location", #"{"precision": "city"}"#)]))
            }
            try await harness.testLive { client in
                try await client.agentSocket("ops") { socket in
                    try await socket.send(Self.invoke("first", ["client_tools": [Self.locationTool], "request_id": "a"]))
                    try await socket.send(Self.invoke("second", ["client_tools": [Self.locationTool], "request_id": "b"]))
                    var calls: [JSONValue] = []
                    while calls.count < 2 { calls.append(try await socket.next("tool_call")) }
                    #expect(Set(calls.compactMap { $0["invocation_id"]?.stringValue }).count == 2, "two runs on one socket")
                    // A third concurrent run of the same user is refused.
                    try await socket.send(Self.invoke("third", ["request_id": "c"]))
                    let refused = try await socket.next("error")
                    #expect(refused["code"] == "rate_limited")
                    #expect(refused["request_id"] == "c")
                    for call in calls {
                        try await socket.send(["type": "cancel", "invocation_id": call["invocation_id"]!])
                    }
                    var statuses: [JSONValue] = []
                    while statuses.count < 2 { statuses.append(try await socket.next("agent_complete")["status"] ?? .null) }
                    #expect(statuses == ["cancelled", "cancelled"])
                }
            }
        }
    }

    @Test func maxStepsEndsARunThatNeverAnswers() async throws {
        try await TestHarness.withUpstream { harness, upstream in
            try await harness.addWorkspace("Ops")
            for index in 0..<3 {
                await upstream.enqueue(AgentScripts.calls([("loop\(index)", "current_time", "{}")]))
            }
            try await harness.testLive { client in
                try await client.agentSocket("ops") { socket in
                    try await socket.send(Self.invoke("loop", ["max_steps": 2]))
                    let complete = try await socket.untilComplete()
                    #expect(complete["status"] == "max_steps")
                    #expect(complete["steps"] == 2)
                }
                #expect(await upstream.exchanges.count == 2)
            }
        }
    }

    @Test func badFramesGetErrorFramesAndTheSocketStaysUsable() async throws {
        try await TestHarness.withUpstream(configure: { $0.agent.maxFrameBytes = 4096 }) { harness, _ in
            try await harness.addWorkspace("Ops")
            try await harness.testLive { client in
                try await client.agentSocket("ops") { socket in
                    let cases: [(String, String)] = [
                        ("this is not json", "invalid_json"),
                        ("[1, 2]", "validation_failed"),
                        (#"{"no_type": true}"#, "validation_failed"),
                        (#"{"type": "dance"}"#, "unknown_type"),
                        (#"{"type": "agent_invoke"}"#, "validation_failed"),
                        (#"{"type": "agent_invoke", "message": ""}"#, "validation_failed"),
                        (#"{"type": "agent_invoke", "message": "x", "tools": ["no_such_tool"]}"#, "validation_failed"),
                        (#"{"type": "agent_invoke", "message": "x", "max_steps": 0}"#, "validation_failed"),
                        (#"{"type": "agent_invoke", "message": "x", "client_tools": [{"name": "bad name!"}]}"#, "validation_failed"),
                        (#"{"type": "agent_invoke", "message": "x", "client_tools": [{"name": "calculator"}]}"#, "validation_failed"),
                        (#"{"type": "tool_result", "call_id": "x"}"#, "validation_failed"),
                        (#"{"type": "tool_result", "invocation_id": "nope", "call_id": "x"}"#, "not_found"),
                        (#"{"type": "resume", "invocation_id": "nope", "after_seq": 0}"#, "not_found"),
                        (#"{"type": "cancel"}"#, "validation_failed"),
                        ("{\"type\": \"ping\", \"pad\": \"\(String(repeating: "x", count: 5000))\"}", "too_large"),
                    ]
                    for (text, code) in cases {
                        try await socket.sendRaw(text)
                        let frame = try await socket.next()
                        #expect(frame.type == "error", "\(text.prefix(60))")
                        #expect(frame["code"]?.stringValue == code, "\(text.prefix(60)): \(frame.serializedString)")
                    }
                    try await socket.sendBinary([1, 2, 3])
                    #expect(try await socket.next()["code"] == "invalid_json")
                    // The error says what is wrong and where.
                    try await socket.sendRaw(#"{"type": "ping", "n": [1,]}"#)
                    #expect(try await socket.next()["message"]
                            == "The frame is not valid JSON: Unexpected character, a value was expected (at byte 25).")
                    try await socket.send(["type": "ping"])
                    #expect(try await socket.next().type == "pong")
                }
            }
        }
    }

    @Test func anthropicFormatRunsTheSameLoop() async throws {
        try await TestHarness.withUpstream(kind: .anthropic) { harness, upstream in
            try await harness.addWorkspace("Ops")
            await upstream.enqueue(VendorStream.anthropic(tokens: ["Let me compute."], toolCalls: [("toolu_1", "calculator", #"{"expression": "3*3"}"#)]),
                                   VendorStream.anthropic(tokens: ["9"]))
            try await harness.testLive { client in
                try await client.agentSocket("ops") { socket in
                    try await socket.send(Self.invoke("3*3?"))
                    let complete = try await socket.untilComplete()
                    #expect(complete["status"] == "completed")
                    #expect(complete["response"] == "9")
                    #expect(socket.received.first { $0.type == "tool_result" }?["output"]?["result"] == 9)
                }
                let second = try #require(await upstream.exchanges.last?.body["messages"]?.arrayValue)
                #expect(second.last?["content"]?.arrayValue?.first?["type"] == "tool_result")
            }
        }
    }
}

/// Frames carried from one connection's handler to the test body.
actor SeenFrames {
    private(set) var frames: [JSONValue] = []
    func set(_ frames: [JSONValue]) { self.frames = frames }
}
