import ChatBridge
import Foundation
import Hummingbird
import HummingbirdTesting
import Testing

@testable import AgentHost

@Suite("Chat REST routes")
struct ChatRoutesTests {
    @Test func listIsNewestFirstWithEveryContractField() async throws {
        let harness = try await TestHarness()
        let workspace = try await harness.addWorkspace("Docs")
        try await harness.addChat(workspace: workspace, prompt: "first", response: "one")
        try await harness.addChat(workspace: workspace, prompt: "second", response: "two", sessionId: "s-1")
        try await harness.test { client in
            let body = try await client.send(.get, "/api/chats/?workspace=docs").json
            let chats = try #require(body["chats"]?.arrayValue)
            #expect(chats.map { $0["prompt"] } == ["second", "first"])
            #expect(body["next_cursor"] == .null)
            let chat = chats[0]
            for field in ["db_id", "workspace", "thread", "user_id", "prompt", "response", "sources", "attachments", "feedback",
                          "include", "api_session_id", "mode", "model", "usage", "created_at", "updated_at"] {
                #expect(chat[field] != nil, "missing \(field)")
            }
            #expect(chat["workspace"] == "docs")
            #expect(chat["api_session_id"] == "s-1")
            #expect(chat["feedback"] == .null)
            #expect(chat["include"] == true)
            #expect(Timestamp.date(from: chat["created_at"]?.stringValue ?? "") != nil)

            let bySession = try await client.send(.get, "/api/chats?session_id=s-1").json
            #expect(bySession["chats"]?.arrayValue?.count == 1)
        }
    }

    @Test func paginationHasNoGapsOrRepeatsWhileRowsAreInserted() async throws {
        let harness = try await TestHarness()
        let workspace = try await harness.addWorkspace("Docs")
        for index in 0..<25 { try await harness.addChat(workspace: workspace, prompt: "p\(index)") }
        try await harness.test { client in
            var seen: [Int] = []
            var cursor: String?
            repeat {
                let uri = "/api/chats?workspace=docs&limit=7" + (cursor.map { "&cursor=\($0)" } ?? "")
                let page = try await client.send(.get, uri).json
                seen += page["chats"]?.arrayValue?.compactMap { $0["db_id"]?.intValue } ?? []
                cursor = page["next_cursor"]?.stringValue
                // New chats arrive between pages; they are newer than the cursor and must not shift it.
                try await harness.addChat(workspace: workspace, prompt: "late")
            } while cursor != nil
            #expect(seen.count == 25)
            #expect(Set(seen).count == 25)
            #expect(seen == seen.sorted(by: >))
            #expect(seen == Array((1...25).reversed()))
        }
    }

    @Test func badQueryParametersAreValidationErrors() async throws {
        let harness = try await TestHarness()
        try await harness.addWorkspace("Docs")
        try await harness.test { client in
            for uri in ["/api/chats?limit=0", "/api/chats?limit=501", "/api/chats?limit=ten", "/api/chats?cursor=bogus",
                        "/api/chats?cursor=djE6LTU", "/api/chats?thread=x", "/api/chats/history",
                        "/api/chats/history?workspace=docs&from=yesterday", "/api/chats/history?workspace=docs&include_excluded=maybe"] {
                let response = try await client.send(.get, uri)
                #expect(response.status == .badRequest, "\(uri)")
                #expect(response.errorCode == "validation_failed", "\(uri): \(response.text)")
            }
            for uri in ["/api/chats?workspace=nope", "/api/chats/history?workspace=nope", "/api/chats?workspace=docs&thread=nope"] {
                let response = try await client.send(.get, uri)
                #expect(response.status == .notFound, "\(uri)")
            }
        }
    }

    @Test func usersSeeOnlyTheirOwnChatsAndAdminsSeeAll() async throws {
        let harness = try await TestHarness()
        let alice = try await harness.addUser("alice")
        let bob = try await harness.addUser("bob")
        let admin = try await harness.addUser("root", role: .admin)
        let workspace = try await harness.addWorkspace("Docs")
        let aliceChat = try await harness.addChat(workspace: workspace, user: alice, prompt: "alice's secret")
        try await harness.addChat(workspace: workspace, user: bob, prompt: "bob's")
        try await harness.test { client in
            let bobHeaders = try await harness.headers(for: bob)
            let bobList = try await client.send(.get, "/api/chats", headers: bobHeaders).json
            #expect(bobList["chats"]?.arrayValue?.map { $0["prompt"] } == ["bob's"])
            let adminHeaders = try await harness.headers(for: admin)
            let adminList = try await client.send(.get, "/api/chats", headers: adminHeaders).json
            #expect(adminList["chats"]?.arrayValue?.count == 2)
            let filtered = try await client.send(.get, "/api/chats?user=alice", headers: adminHeaders).json
            #expect(filtered["chats"]?.arrayValue?.map { $0["prompt"] } == ["alice's secret"])
            let bobFilter = try await client.send(.get, "/api/chats?user=alice", headers: bobHeaders)
            #expect(bobFilter.status == .forbidden)

            // Another user's chat is not found, not forbidden: its existence is not revealed.
            let feedback = try await client.send(.post, "/api/chats/feedback", headers: bobHeaders,
                                                 json: #"{"chat_id": \#(aliceChat.id!), "feedback": true}"#)
            #expect(feedback.status == .notFound)
            let patch = try await client.send(.patch, "/api/chats/\(aliceChat.id!)", headers: bobHeaders, json: #"{"include": false}"#)
            #expect(patch.status == .notFound)
            let history = try await client.send(.get, "/api/chats/history?workspace=docs", headers: bobHeaders).json
            #expect(history["history"]?.arrayValue?.first?["content"] == "bob's")
            #expect(try await harness.store.chat(id: aliceChat.id!, viewer: .singleUser)?.chat.feedback == nil)
        }
    }

    @Test func feedbackIncludeAndReset() async throws {
        let harness = try await TestHarness()
        let workspace = try await harness.addWorkspace("Docs")
        let chat = try await harness.addChat(workspace: workspace, prompt: "q", response: "a")
        try await harness.test { client in
            let liked = try await client.send(.post, "/api/chats/feedback/", json: #"{"chat_id": \#(chat.id!), "feedback": true}"#)
            #expect(liked.status == .ok)
            #expect(try liked.json["feedback"] == true)
            let cleared = try await client.send(.post, "/api/chats/feedback", json: #"{"chat_id": \#(chat.id!), "feedback": null}"#)
            #expect(try cleared.json["feedback"] == .null)
            for body in [#"{"chat_id": \#(chat.id!)}"#, #"{"feedback": true}"#, #"{"chat_id": "x", "feedback": true}"#,
                         #"{"chat_id": \#(chat.id!), "feedback": "yes"}"#] {
                let response = try await client.send(.post, "/api/chats/feedback", json: body)
                #expect(response.errorCode == "validation_failed", "\(body)")
            }
            let missing = try await client.send(.post, "/api/chats/feedback", json: #"{"chat_id": 999, "feedback": true}"#)
            #expect(missing.status == .notFound)

            let excluded = try await client.send(.patch, "/api/chats/\(chat.id!)/", json: #"{"include": false}"#)
            #expect(try excluded.json["include"] == false)
            var history = try await client.send(.get, "/api/chats/history?workspace=docs").json
            #expect(history["history"]?.arrayValue?.isEmpty == true)
            history = try await client.send(.get, "/api/chats/history?workspace=docs&include_excluded=true").json
            #expect(history["history"]?.arrayValue?.map { $0["role"] } == ["user", "assistant"])
            #expect(history["history"]?.arrayValue?.map { $0["content"] } == ["q", "a"])
            let nothing = try await client.send(.patch, "/api/chats/\(chat.id!)", json: "{}")
            #expect(nothing.errorCode == "validation_failed")
            let notAnId = try await client.send(.patch, "/api/chats/abc", json: #"{"include": true}"#)
            #expect(notAnId.status == .notFound)

            _ = try await client.send(.patch, "/api/chats/\(chat.id!)", json: #"{"include": true}"#)
            try await harness.addChat(workspace: workspace, prompt: "q2", response: "a2")
            let reset = try await client.send(.post, "/api/chats/reset", json: #"{"workspace": "docs"}"#)
            #expect(try reset.json["reset"] == 2)
            history = try await client.send(.get, "/api/chats/history?workspace=docs").json
            #expect(history["history"]?.arrayValue?.isEmpty == true)
            let badReset = try await client.send(.post, "/api/chats/reset", json: #"{"workspace": "nope"}"#)
            #expect(badReset.status == .notFound)
        }
    }

    @Test func historyIsOldestFirstWithinTheWindowAndThread() async throws {
        let harness = try await TestHarness()
        let workspace = try await harness.addWorkspace("Docs")
        let thread = try await harness.store.createThread(workspaceId: workspace.id!, userId: nil, name: "Side")
        for index in 1...5 { try await harness.addChat(workspace: workspace, prompt: "main \(index)") }
        try await harness.addChat(workspace: workspace, thread: thread, prompt: "side 1")
        try await harness.test { client in
            let main = try await client.send(.get, "/api/chats/history?workspace=docs&limit=2").json
            #expect(main["history"]?.arrayValue?.compactMap { $0["role"] == "user" ? $0["content"] : nil } == ["main 4", "main 5"])
            let side = try await client.send(.get, "/api/chats/history?workspace=docs&thread=side").json
            #expect(side["history"]?.arrayValue?.first?["content"] == "side 1")
            let future = try await client.send(.get, "/api/chats/history?workspace=docs&from=2999-01-01T00:00:00Z").json
            #expect(future["history"]?.arrayValue?.isEmpty == true)
        }
    }
}
