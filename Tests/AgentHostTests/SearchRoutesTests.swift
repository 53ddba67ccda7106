import ChatBridge
import Foundation
import Hummingbird
import HummingbirdTesting
import Testing

@testable import AgentHost

@Suite("Search route")
struct SearchRoutesTests {
    static func encode(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? text
    }

    @Test func findsRanksAndHighlightsWithEveryContractField() async throws {
        let harness = try await TestHarness()
        let workspace = try await harness.addWorkspace("Docs")
        let best = try await harness.addChat(workspace: workspace, prompt: "invoice invoice", response: "the invoice is attached")
        let other = try await harness.addChat(workspace: workspace, prompt: "where is my invoice for the long month of March", response: "ok")
        try await harness.addChat(workspace: workspace, prompt: "unrelated", response: "nothing")
        try await harness.test { client in
            let body = try await client.send(.get, "/api/chats/search/?q=invoice").json
            let results = try #require(body["results"]?.arrayValue)
            #expect(results.map { $0["db_id"]?.intValue } == [Int(best.id!), Int(other.id!)])
            #expect(body["next_cursor"] == .null)
            let first = results[0]
            for field in ["db_id", "workspace", "thread", "prompt", "response", "prompt_snippet", "response_snippet", "created_at", "score"] {
                #expect(first[field] != nil, "missing \(field)")
            }
            #expect(first["workspace"] == "docs")
            #expect(first["thread"] == .null)
            #expect(first["prompt_snippet"] == "<mark>invoice</mark> <mark>invoice</mark>")
            #expect(first["response_snippet"] == "the <mark>invoice</mark> is attached")
            #expect((first["score"]?.doubleValue ?? 0) > (results[1]["score"]?.doubleValue ?? 0))

            let responses = try await client.send(.get, "/api/chats/search?q=attached&in=response").json
            #expect(responses["results"]?.arrayValue?.count == 1)
            let prompts = try await client.send(.get, "/api/chats/search?q=attached&in=prompt").json
            #expect(prompts["results"]?.arrayValue?.isEmpty == true)
        }
    }

    @Test func hostileQueriesNeverError() async throws {
        let harness = try await TestHarness()
        let workspace = try await harness.addWorkspace("Docs")
        try await harness.addChat(workspace: workspace, prompt: "reset AND password", response: "NEAR the : column")
        try await harness.test { client in
            for text in SearchHostileInputs.all {
                let response = try await client.send(.get, "/api/chats/search?q=\(Self.encode(text))")
                #expect(response.status == .ok, "\(text): \(response.text)")
                #expect((try? response.json["results"]?.arrayValue) != nil, "\(text)")
            }
            let quoted = try await client.send(.get, "/api/chats/search?q=\(Self.encode("\"reset AND"))").json
            #expect(quoted["results"]?.arrayValue?.count == 1)
        }
    }

    @Test func validationFiltersAndPagination() async throws {
        let harness = try await TestHarness()
        let docs = try await harness.addWorkspace("Docs")
        let other = try await harness.addWorkspace("Other")
        let thread = try await harness.store.createThread(workspaceId: docs.id!, userId: nil, name: "Side")
        for index in 0..<9 { try await harness.addChat(workspace: docs, prompt: "widget number \(index)") }
        let inThread = try await harness.addChat(workspace: docs, thread: thread, prompt: "widget in thread")
        let elsewhere = try await harness.addChat(workspace: other, prompt: "widget elsewhere")
        try await harness.test { client in
            for uri in ["/api/chats/search", "/api/chats/search?q=", "/api/chats/search?q=a&in=title", "/api/chats/search?q=a&limit=0",
                        "/api/chats/search?q=a&limit=101", "/api/chats/search?q=a&cursor=nope", "/api/chats/search?q=a&thread=side",
                        "/api/chats/search?q=a&from=yesterday"] {
                let response = try await client.send(.get, uri)
                #expect(response.status == .badRequest, "\(uri)")
                #expect(response.errorCode == "validation_failed", "\(uri)")
            }
            #expect(try await client.send(.get, "/api/chats/search?q=a&workspace=nope").status == .notFound)
            let empty = try await client.send(.get, "/api/chats/search?q=%F0%9F%99%82%20-%20%3A").json
            #expect(empty["results"]?.arrayValue?.isEmpty == true)

            let byThread = try await client.send(.get, "/api/chats/search?q=widget&workspace=docs&thread=side").json
            #expect(byThread["results"]?.arrayValue?.map { $0["db_id"]?.intValue } == [Int(inThread.id!)])
            let byWorkspace = try await client.send(.get, "/api/chats/search?q=widget&workspace=other").json
            #expect(byWorkspace["results"]?.arrayValue?.map { $0["db_id"]?.intValue } == [Int(elsewhere.id!)])
            let future = try await client.send(.get, "/api/chats/search?q=widget&from=2999-01-01T00:00:00Z").json
            #expect(future["results"]?.arrayValue?.isEmpty == true)

            var seen: [Int] = []
            var cursor: String?
            var pages = 0
            repeat {
                pages += 1
                let page = try await client.send(.get, "/api/chats/search?q=widget&limit=4" + (cursor.map { "&cursor=\($0)" } ?? "")).json
                seen += page["results"]?.arrayValue?.compactMap { $0["db_id"]?.intValue } ?? []
                cursor = page["next_cursor"]?.stringValue
            } while cursor != nil && pages < 10  // bounded: a cursor bug must fail, not hang
            #expect(pages == 3)
            #expect(seen.count == 11)
            #expect(Set(seen).count == 11)
        }
    }

    @Test func usersFindOnlyTheirOwnChats() async throws {
        let harness = try await TestHarness()
        let alice = try await harness.addUser("alice")
        let bob = try await harness.addUser("bob")
        let admin = try await harness.addUser("root", role: .admin)
        let workspace = try await harness.addWorkspace("Docs")
        let aliceChat = try await harness.addChat(workspace: workspace, user: alice, prompt: "secret plan of alice")
        let bobChat = try await harness.addChat(workspace: workspace, user: bob, prompt: "secret plan of bob")
        try await harness.test { client in
            let bobHeaders = try await harness.headers(for: bob)
            let own = try await client.send(.get, "/api/chats/search?q=secret", headers: bobHeaders).json
            #expect(own["results"]?.arrayValue?.map { $0["db_id"]?.intValue } == [Int(bobChat.id!)])
            let forbidden = try await client.send(.get, "/api/chats/search?q=secret&user=alice", headers: bobHeaders)
            #expect(forbidden.status == .forbidden)
            let adminHeaders = try await harness.headers(for: admin)
            let all = try await client.send(.get, "/api/chats/search?q=secret", headers: adminHeaders).json
            #expect(all["results"]?.arrayValue?.count == 2)
            let filtered = try await client.send(.get, "/api/chats/search?q=secret&user=alice", headers: adminHeaders).json
            #expect(filtered["results"]?.arrayValue?.map { $0["db_id"]?.intValue } == [Int(aliceChat.id!)])
            #expect(try await client.send(.get, "/api/chats/search?q=secret").status == .unauthorized)
        }
    }
}

enum SearchHostileInputs {
    static let all = [
        "\"", "\"\"", "\"unbalanced phrase", "unbalanced\" quote", "AND(", "AND", "OR", "NOT", "NEAR", "NEAR(a b, 2)", "a OR", "(", ")",
        "-", "-password", ":", "prompt:", "prompt: reset", "{prompt}: reset", "*", "reset**", "*reset", "^reset", "🙂", "🔥 reset 🔥",
        "'; DROP TABLE workspace_chats; --", "SELECT * FROM users", "1=1", "\\", "x\"y\"z", "ünïcödé", "日本語", "%", "%%", "&&", "<mark>",
    ]
}
