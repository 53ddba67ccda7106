import AsyncHTTPClient
import ChatBridge
import Foundation
import Hummingbird
import HummingbirdTesting
import NIOCore
import Testing

@testable import AgentHost

/// The same runs over HTTP: SSE out, tool results and cancel posted back.
@Suite("REST parity for agents", .timeLimit(.minutes(1)))
struct AgentRESTTests {
    @Test func runWithAClientToolOverSSEAndHTTP() async throws {
        try await TestHarness.withUpstream { harness, upstream in
            try await harness.addWorkspace("Ops")
            await upstream.enqueue(AgentScripts.calls([("c1", "get_location", #"{"precision": "city"}"#)]), AgentScripts.answer("Lyon."))
            try await harness.testLive { client in
                let port = try #require(client.port)
                let body: JSONValue = ["workspace": "ops", "message": "Where am I?", "client_tools": [AgentSocketTests.locationTool]]
                let request = {
                    var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)/api/agent/invocations/")
                    request.method = .POST
                    request.headers.add(name: "content-type", value: "application/json")
                    request.body = .bytes(ByteBuffer(bytes: body.serialized()))
                    return request
                }()
                let response = try await TestHarness.httpClient.execute(request, timeout: .seconds(20))
                #expect(response.status == .ok)
                var parser = SSEParser()
                var events: [SSEEvent] = []
                var posted = false
                for try await buffer in response.body {
                    for event in parser.parse(buffer.readableBytesView) {
                        events.append(event)
                        if event.event == "tool_call", !posted {
                            posted = true
                            let frame = try JSONValue(parsing: event.data)
                            let id = try #require(frame["invocation_id"]?.stringValue)
                            let answer = try await client.send(.post, "/api/agent/invocations/\(id)/tool_results/",
                                                               json: #"{"call_id": "c1", "output": {"city": "Lyon"}}"#)
                            #expect(answer.status == .ok)
                            let again = try await client.send(.post, "/api/agent/invocations/\(id)/tool_results",
                                                              json: #"{"call_id": "c1", "output": 1}"#)
                            #expect(again.status == .conflict)
                        }
                    }
                }
                #expect(events.first?.event == "agent_start")
                #expect(events.last?.event == "agent_complete")
                #expect(events.map(\.id) == events.indices.map { String($0) }, "id: is the frame's seq")
                let complete = try JSONValue(parsing: try #require(events.last?.data))
                #expect(complete["response"] == "Lyon.")
                let id = try #require(complete["invocation_id"]?.stringValue)

                // Replay from a point, after the run ended.
                let replay = try await client.send(.get, "/api/agent/invocations/\(id)/events?after_seq=2")
                #expect(replay.events.first?.id == "3")
                #expect(replay.events.last?.event == "agent_complete")
                let run = try await client.send(.get, "/api/agent/invocations/\(id)").json
                #expect(run["status"] == "completed")
                #expect(run["step_log"]?.arrayValue?.first?["tool_calls"]?.arrayValue?.first?["output"] == ["city": "Lyon"])
            }
        }
    }

    /// Schemathesis found it: `after_seq=9223372036854775807` on a run still in memory overflowed
    /// `after_seq + 1` and killed the server. It replays nothing (the run has ended: the stream ends).
    @Test func theLargestAfterSeqReplaysNothing() async throws {
        try await TestHarness.withUpstream { harness, upstream in
            try await harness.addWorkspace("Ops")
            await upstream.enqueue(AgentScripts.answer("Done."))
            try await harness.testLive { client in
                let run = try await client.send(.post, "/api/agent/invocations", json: #"{"workspace": "ops", "message": "Hi"}"#)
                #expect(run.events.last?.event == "agent_complete")
                let start = try #require(run.events.first?.data)
                let id = try #require(try JSONValue(parsing: start)["invocation_id"]?.stringValue)
                for path in ["/api/agent/invocations/\(id)/events", "/api/runs/\(id)/events"] {
                    let replay = try await client.send(.get, "\(path)?after_seq=\(Int.max)")
                    #expect(replay.status == .ok)
                    #expect(replay.events.isEmpty, "\(replay.text.prefix(300))")
                }
                let everything = try await client.send(.get, "/api/runs/\(id)/events?after_seq=-1")
                #expect(everything.events.count == run.events.count)
                #expect(try await client.send(.get, "/api/health").status == .ok)
            }
        }
    }

    @Test func cancelOverHTTPAndErrors() async throws {
        try await TestHarness.withUpstream { harness, upstream in
            try await harness.addWorkspace("Ops")
            await upstream.enqueue(AgentScripts.calls([("c1", "get_location", #"{"precision": "city"}"#)]))
            try await harness.testLive { client in
                let started = Started()
                try await client.agentSocket("ops") { socket in
                    try await socket.send(AgentSocketTests.invoke("Where?", ["client_tools": [AgentSocketTests.locationTool]]))
                    let call = try await socket.next("tool_call")
                    await started.set(call["invocation_id"]?.stringValue ?? "")
                    let cancel = try await client.send(.post, "/api/agent/invocations/\(await started.id)/cancel/")
                    #expect(cancel.status == .accepted)
                    let complete = try await socket.untilComplete()
                    #expect(complete["status"] == "cancelled")
                }
                let missing = try await client.send(.get, "/api/agent/invocations/no-such-run")
                #expect(missing.status == .notFound)
                let badStart = try await client.send(.post, "/api/agent/invocations", json: #"{"workspace": "ops"}"#)
                #expect(badStart.errorCode == "validation_failed")
                let unknownWorkspace = try await client.send(.post, "/api/agent/invocations", json: #"{"workspace": "nope", "message": "x"}"#)
                #expect(unknownWorkspace.status == .notFound)
            }
        }
    }
}

actor Started {
    private(set) var id = ""
    func set(_ id: String) { self.id = id }
}
