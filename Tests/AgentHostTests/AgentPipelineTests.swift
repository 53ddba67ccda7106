import AgentHostTesting
import ChatBridge
import Foundation
import HummingbirdTesting
import Testing

@testable import AgentHost

/// An agent turn is a chat of the shared pipeline (PROTOCOL §6): document context and `sources`,
/// storage and telemetry.
@Suite("Agents through the chat pipeline")
struct AgentPipelineTests {
    @Test func anAgentOverDocumentsStreamsSourcesAndCountsAsAChat() async throws {
        try await TestHarness.withUpstream { harness, upstream in
            try await harness.addWorkspace("Ops")
            await upstream.enqueue(AgentScripts.answer("The vault code is 4711."))
            try await harness.testLive { client in
                let upload = try await client.upload("ops", name: "vault.txt", mime: "text/plain",
                                                     data: Array("The vault code is 4711. Keep it secret.".utf8))
                #expect(upload.status == .created)
                try await client.agentSocket("ops") { socket in
                    try await socket.send(AgentSocketTests.invoke("What is the vault code?"))
                    let complete = try await socket.untilComplete()
                    #expect(complete["status"] == "completed")
                    let frames = socket.received
                    #expect(frames.map(\.type).prefix(2) == ["agent_start", "sources"])
                    let sources = try #require(frames.first { $0.type == "sources" })
                    #expect(sources["step"] == 1)
                    #expect(sources["sources"]?.arrayValue?.first?["title"] == "vault.txt")
                    #expect(frames.map { $0["seq"]?.intValue } == Array(0..<frames.count).map { $0 })
                }
                // The passage was in the model's context.
                let request = try #require(await upstream.exchanges.last?.body["messages"]?.arrayValue)
                #expect(request.contains { ($0["content"]?.stringValue ?? "").contains("The vault code is 4711") })
                // Counted as a chat of the pipeline, with its own transport.
                let metrics = try await client.send(.get, "/metrics").text
                #expect(metrics.contains(#"agenthost_chats_total{transport="agent",status="completed"} 1"#)
                        || metrics.contains(#"agenthost_chats_total{status="completed",transport="agent"} 1"#), "\(metrics)")
                // Stored as a chat with its sources, like any chat of the workspace.
                let history = try await client.send(.get, "/api/chats?workspace=ops")
                let chat = try #require(try history.json["chats"]?.arrayValue?.first)
                #expect(chat["response"] == "The vault code is 4711.")
                #expect(chat["status"] == "completed")
            }
        }
    }
}
