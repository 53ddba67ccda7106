import ChatBridge
import Foundation
import Hummingbird
import HummingbirdTesting
import Testing

@testable import AgentHost

/// A client tool whose schema holds a catastrophic `pattern` cannot stall the server (issue 11):
/// the model's arguments are checked in linear time, and lookaround or backreferences are refused
/// when the tool is declared.
@Suite("Catastrophic schema patterns over HTTP", .timeLimit(.minutes(1)))
struct CatastrophicPatternTests {
    static func tool(pattern: String) -> JSONValue {
        ["name": "lookup", "description": "Looks a code up",
         "parameters": ["type": "object", "properties": ["code": ["type": "string", "pattern": .string(pattern)]], "required": ["code"]]]
    }

    @Test func aReDoSArgumentIsRefusedToTheModelAtOnce() async throws {
        try await TestHarness.withUpstream { harness, upstream in
            try await harness.addWorkspace("Ops")
            // 40 a's and a b: 2^40 steps for a backtracking matcher of ^(a+)+$.
            let code = String(repeating: "a", count: 40) + "b"
            await upstream.enqueue(AgentScripts.calls([("c1", "lookup", #"{"code": "\#(code)"}"#)]), AgentScripts.answer("No such code."))
            try await harness.testLive { client in
                let body: JSONValue = ["workspace": "ops", "message": "Look it up", "client_tools": [Self.tool(pattern: "^(a+)+$")]]
                let started = ContinuousClock.now
                let response = try await client.send(.post, "/api/agent/invocations/", json: body.serializedString)
                // A hang guard: a backtracking matcher never finishes this run (the suite's time limit
                // ends it); now it is two model steps, plus whatever a loaded test machine adds.
                #expect(ContinuousClock.now - started < .seconds(45))
                #expect(response.status == .ok, "\(response.text)")
                let events = response.text.components(separatedBy: "\n").filter { $0.hasPrefix("event: ") }
                #expect(events.last == "event: agent_complete", "\(events)")
                #expect(!events.contains("event: tool_call"), "arguments that fail the schema never reach the client")
                #expect(response.text.contains("must match the pattern ^(a+)+$"), "\(response.text)")
                let health = try await client.send(.get, "/api/health")
                #expect(health.status == .ok)
            }
        }
    }

    @Test func lookaroundIsRefusedWhenTheToolIsDeclared() async throws {
        let harness = try await TestHarness()
        try await harness.addWorkspace("Ops")
        try await harness.testLive { client in
            let body: JSONValue = ["workspace": "ops", "message": "Hi", "client_tools": [Self.tool(pattern: "^(?!admin).*$")]]
            let response = try await client.send(.post, "/api/agent/invocations/", json: body.serializedString)
            #expect(response.status == .badRequest, "\(response.text)")
            #expect(response.errorCode == "validation_failed")
            let message = try #require(try response.json["error"]?["message"]?.stringValue)
            #expect(message.contains("negative lookahead") && message.contains("client_tools[0].parameters"), "\(message)")
        }
    }
}
