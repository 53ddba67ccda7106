import AgentHostTesting
import AsyncHTTPClient
import ChatBridge
import Foundation
import NIOCore
import Testing

@testable import AgentHost

extension PostgresBacked {
    /// The real server on a real socket, storing everything in PostgreSQL.
    @Suite("Server on PostgreSQL")
    struct Server {
        /// A chat over SSE, an agent run with a client tool answered over REST, search and export,
        /// end to end, then start-up repair and a replay from the log.
        @Test func chatAgentSearchAndExportEndToEnd() async throws {
            try await Backend.withPostgres { database in
                let storage = Storage.postgres(database)
                try await TestHarness.withUpstream(storage: storage) { harness, upstream in
                    _ = try await storage.chats.createWorkspace(Workspace(name: "Ops", slug: ""))
                    await upstream.enqueue(VendorStream.openAI(tokens: ["The", " kettle", " boils."], usage: Usage(promptTokens: 5, completionTokens: 3)))
                    await upstream.enqueue(AgentScripts.calls([("c1", "get_location", #"{"precision": "city"}"#)]), AgentScripts.answer("Lyon."))
                    try await harness.testLive { client in
                        // Chat over SSE: frames in order, the chat stored in PostgreSQL.
                        let chat = try await client.send(.post, "/api/chats/stream_chat", json: #"{"message": "does the kettle boil?", "workspace": "ops"}"#)
                        #expect(chat.status == .ok)
                        #expect(chat.events.map(\.event) == ["chat_start", "chat_token", "chat_token", "chat_token", "chat_complete"])
                        let complete = try #require(chat.frames.last)
                        #expect(complete["response"] == "The kettle boils.")
                        let dbId = try #require(complete["db_id"]?.intValue)
                        let stored = try #require(try await storage.chats.chat(id: Int64(dbId), viewer: .singleUser))
                        #expect(stored.chat.status == .completed && stored.chat.response == "The kettle boils.")
                        let chatId = try #require(complete["chat_id"]?.stringValue)
                        // The run log replays exactly what went out.
                        let replay = try await client.send(.get, "/api/runs/\(chatId)/events?after_seq=-1")
                        #expect(replay.events.map(\.event) == chat.events.map(\.event))

                        // An agent run with a client tool: started over SSE, answered over REST.
                        let port = try #require(client.port)
                        let body: JSONValue = ["workspace": "ops", "message": "Where am I?", "client_tools": [AgentSocketTests.locationTool]]
                        var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)/api/agent/invocations/")
                        request.method = .POST
                        request.headers.add(name: "content-type", value: "application/json")
                        request.body = .bytes(ByteBuffer(bytes: body.serialized()))
                        let response = try await TestHarness.httpClient.execute(request, timeout: .seconds(20))
                        #expect(response.status == .ok)
                        var parser = SSEParser()
                        var events: [SSEEvent] = []
                        for try await buffer in response.body {
                            for event in parser.parse(buffer.readableBytesView) {
                                events.append(event)
                                if event.event == "tool_call" {
                                    let id = try #require(try JSONValue(parsing: event.data)["invocation_id"]?.stringValue)
                                    let answer = try await client.send(.post, "/api/agent/invocations/\(id)/tool_results/",
                                                                       json: #"{"call_id": "c1", "output": {"city": "Lyon"}}"#)
                                    #expect(answer.status == .ok)
                                }
                            }
                        }
                        #expect(events.first?.event == "agent_start" && events.last?.event == "agent_complete")
                        #expect(events.map(\.id) == events.indices.map { String($0) })
                        let done = try JSONValue(parsing: try #require(events.last?.data))
                        #expect(done["response"] == "Lyon." && done["status"] == "completed")
                        let invocationId = try #require(done["invocation_id"]?.stringValue)
                        let (invocation, steps) = try #require(try await storage.invocations.invocation(id: invocationId, viewer: .singleUser))
                        #expect(invocation.status == .completed)
                        #expect(steps.contains { $0.kind == .tool && $0.executor == "client" && $0.output == ["city": "Lyon"] })
                        let rest = try await client.send(.get, "/api/agent/invocations/\(invocationId)")
                        #expect(rest.status == .ok)

                        // Search through PostgreSQL full-text search, with highlights.
                        let search = try await client.send(.get, "/api/chats/search/?q=kettle").json
                        let results = try #require(search["results"]?.arrayValue)
                        #expect(results.map { $0["db_id"]?.intValue } == [dbId])
                        #expect(results.first?["response_snippet"]?.stringValue?.contains("<mark>kettle</mark>") == true)

                        // Export streams every finished chat.
                        let export = try await client.send(.post, "/api/chats/export/", json: #"{"format": "jsonl"}"#)
                        #expect(export.status == .ok)
                        let lines = String(buffer: export.body).split(separator: "\n")
                        #expect(lines.count == 2 && lines.contains { $0.contains("The kettle boils.") })
                    }
                }
            }
        }
    }
}
