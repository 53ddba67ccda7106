import AgentHostTesting
import ChatBridge
import Foundation
import Hummingbird
import HummingbirdTesting
import Testing

@testable import AgentHost

/// Retrieval reads only the caller's own documents (administrators included), in chats, query mode
/// and the agents' `search_documents`, while listing and changing documents stays owner-or-admin.
@Suite("Documents: retrieval reads the caller's own documents", .timeLimit(.minutes(1)))
struct DocumentOwnershipTests {
    /// Ana's documents: one pinned, one not.
    static func uploadAnasDocuments(_ client: some TestClientProtocol, headers: HTTPFields) async throws {
        let vault = try await client.upload("docs", name: "vault.txt", mime: "text/plain",
                                            data: Array("The vault code is 4711.".utf8), headers: headers)
        #expect(vault.status == .created)
        let pinned = try await client.upload("docs", name: "pinned.txt", mime: "text/plain",
                                             data: Array("Ana's salary review is on Friday.".utf8), headers: headers)
        let id = try #require(try pinned.json["id"]?.intValue)
        let patched = try await client.send(.patch, "/api/workspaces/docs/documents/\(id)", headers: headers, json: #"{"pinned": true}"#)
        #expect(try patched.json["pinned"] == true)
    }

    @Test func otherUsersChatsNeverShowAnasDocumentsPinnedOrNot() async throws {
        try await TestHarness.withUpstream { harness, upstream in
            let ana = try await harness.addUser("ana")
            let bob = try await harness.addUser("bob")
            let admin = try await harness.addUser("root", role: .admin)
            try await harness.addWorkspace("Docs")
            try await harness.test { client in
                let anaHeaders = try await harness.headers(for: ana)
                try await Self.uploadAnasDocuments(client, headers: anaHeaders)
                _ = try await client.upload("docs", name: "bob.txt", mime: "text/plain",
                                            data: Array("Bob keeps the vault code of the garage: 1234. His salary review was in May.".utf8), headers: try await harness.headers(for: bob))
                let question = #"{"message": "What is the vault code? And the salary review?", "workspace": "docs"}"#
                func sourceTitles(_ headers: HTTPFields) async throws -> [String] {
                    let response = try await client.send(.post, "/api/chats/stream_chat", headers: headers, json: question)
                    #expect(response.frames.last?["type"] == "chat_complete", "\(response.text)")
                    let sources = response.frames.first { $0["type"] == "sources" }?["sources"]?.arrayValue ?? []
                    return sources.compactMap { $0["title"]?.stringValue }
                }
                #expect(try await sourceTitles(try await harness.headers(for: bob)) == ["bob.txt"])
                #expect(try await sourceTitles(try await harness.headers(for: admin)) == [], "administrators too: their own documents only")
                #expect(try await sourceTitles(anaHeaders) == ["pinned.txt", "vault.txt"])

                // What the model saw: Bob's and the admin's prompts hold nothing of Ana's documents.
                let prompts = await upstream.exchanges.map { $0.body["messages"]?.arrayValue?.first?["content"]?.stringValue ?? "" }
                #expect(prompts.count == 3)
                for prompt in prompts.prefix(2) {
                    #expect(!prompt.contains("4711") && !prompt.contains("Friday"), "\(prompt)")
                }
                #expect(prompts[0].contains("1234"))
                #expect(prompts[2].contains("4711") && prompts[2].contains("Friday") && !prompts[2].contains("1234"))

                // History shows each their own sources.
                let history = try await client.send(.get, "/api/chats/history?workspace=docs", headers: try await harness.headers(for: bob))
                let stored = try #require(try history.json["history"]?.arrayValue?.last?["sources"]?.arrayValue)
                #expect(stored.map { $0["title"] } == ["bob.txt"])
            }
        }
    }

    @Test func searchDocumentsInAnAgentRunReadsTheCallersDocuments() async throws {
        try await TestHarness.withUpstream { harness, upstream in
            let ana = try await harness.addUser("ana")
            let bob = try await harness.addUser("bob")
            try await harness.addWorkspace("Docs")
            let search = #"{"query": "vault code salary"}"#
            await upstream.enqueue(AgentScripts.calls([("s1", "search_documents", search)]), AgentScripts.answer("Nothing found."),
                                   AgentScripts.calls([("s2", "search_documents", search)]), AgentScripts.answer("It is 4711."))
            try await harness.testLive { client in
                try await Self.uploadAnasDocuments(client, headers: try await harness.headers(for: ana))
                for (user, expected) in [(bob, Set<String>()), (ana, Set(["vault.txt", "pinned.txt"]))] {
                    let token = try await harness.token(for: user)
                    try await client.agentSocket("docs", token: token) { socket in
                        try await socket.send(AgentSocketTests.invoke("What is the vault code?", ["tools": ["search_documents"]]))
                        let call = try await socket.next("tool_call")
                        #expect(call["name"] == "search_documents")
                        #expect(call["executor"] == "server")
                        let result = try await socket.next("tool_result")
                        #expect(result["is_error"] == false, "\(result)")
                        let titles = result["output"]?["results"]?.arrayValue?.compactMap { $0["title"]?.stringValue } ?? []
                        #expect(Set(titles) == expected, "\(user.username): \(result)")
                        let complete = try await socket.untilComplete()
                        #expect(complete["status"] == "completed")
                    }
                }
                // The model got Ana's passage only in Ana's run.
                let toolMessages = await upstream.exchanges.compactMap { $0.body["messages"]?.arrayValue?.last }.filter { $0["role"] == "tool" }
                #expect(toolMessages.count == 2)
                #expect(toolMessages.first?["content"]?.stringValue?.contains("4711") == false)
                #expect(toolMessages.last?["content"]?.stringValue?.contains("4711") == true)
            }
        }
    }

    @Test func queryModeRefusesWhenNothingButAPinnedDocumentIsThere() async throws {
        try await TestHarness.withUpstream { harness, upstream in
            try await harness.addWorkspace("Docs") { $0.chatMode = .query; $0.queryRefusalResponse = "Not in the documents." }
            await upstream.enqueue(VendorStream.openAI(tokens: ["Nine to five."]), VendorStream.openAI(tokens: ["25 days."]))
            try await harness.test { client in
                let faq = try await client.upload("docs", name: "faq.txt", mime: "text/plain", data: Array("Office hours are nine to five.".utf8))
                let id = try #require(try faq.json["id"]?.intValue)
                _ = try await client.send(.patch, "/api/workspaces/docs/documents/\(id)", json: #"{"pinned": true}"#)
                _ = try await client.upload("docs", name: "handbook.md", mime: "text/markdown",
                                            data: Array("# Holidays\n\nEmployees get 25 days of paid holiday per year.".utf8))

                // The pinned document is in every context, but it does not answer this: refused, no model call.
                let refused = try await client.send(.post, "/api/chats/stream_chat", json: #"{"message": "Who won the football cup?", "workspace": "docs"}"#)
                #expect(refused.frames.map { $0["type"] } == ["chat_start", "chat_token", "chat_complete"])
                #expect(refused.frames.last?["response"] == "Not in the documents.")
                #expect(await upstream.exchanges.isEmpty)

                // A pinned passage that matches the question by its own score answers it.
                let pinnedAnswer = try await client.send(.post, "/api/chats/stream_chat", json: #"{"message": "When are the office hours?", "workspace": "docs"}"#)
                #expect(pinnedAnswer.frames.last?["response"] == "Nine to five.")
                #expect(pinnedAnswer.frames.first { $0["type"] == "sources" }?["sources"]?.arrayValue?.map { $0["title"] } == ["faq.txt"])

                // A matching non-pinned passage answers, with the pinned one still first in context.
                let answered = try await client.send(.post, "/api/chats/stream_chat", json: #"{"message": "How many holiday days do employees get?", "workspace": "docs"}"#)
                #expect(answered.frames.last?["response"] == "25 days.")
                let titles = answered.frames.first { $0["type"] == "sources" }?["sources"]?.arrayValue?.map { $0["title"] }
                #expect(titles == ["faq.txt", "handbook.md"])
                #expect(await upstream.exchanges.count == 2)
            }
        }
    }
}
