import ChatBridge
import Foundation
import Hummingbird
import HummingbirdTesting
import Testing

@testable import AgentHost

@Suite("Workspaces, threads and general HTTP rules")
struct WorkspaceRoutesTests {
    @Test func healthWithAndWithoutTrailingSlash() async throws {
        let harness = try await TestHarness()
        try await harness.addUser("alice")  // health needs no auth even in multi-user mode
        try await harness.test { client in
            for path in ["/api/health", "/api/health/"] {
                let response = try await client.send(.get, path)
                #expect(response.status == .ok)
                #expect(try response.json == ["status": "ok"])
                #expect(response.headers[.init("X-Request-Id")!] != nil)
            }
        }
    }

    @Test func jsonMediaTypes() {
        for accepted in ["application/json", "Application/JSON", "application/json; charset=utf-8", " application/json\t;x=y",
                         "application/problem+json", "APPLICATION/VND.API+JSON ; q=1"] {
            #expect(JSONBodyMiddleware.isJSON(accepted), "\(accepted)")
        }
        for refused in [nil, "", "text/plain", "application/jsonx", "application/json5", "text/json", "application/+jsonx",
                        "multipart/form-data; boundary=json", "application", "json", "; application/json"] as [String?] {
            #expect(!JSONBodyMiddleware.isJSON(refused), "\(refused ?? "nil")")
        }
    }

    @Test func unknownRouteIsAContractError() async throws {
        let harness = try await TestHarness()
        try await harness.test { client in
            let response = try await client.send(.get, "/api/nothing-here")
            #expect(response.status == .notFound)
            #expect(response.errorCode == "not_found")
        }
    }

    @Test func createListGetPatchWorkspace() async throws {
        let harness = try await TestHarness()
        try await harness.test { client in
            let created = try await client.send(.post, "/api/workspaces/", json: #"""
                {"name": "Team Docs!", "system_prompt": "Be brief.", "history_length": 5, "agent_tools": ["calculator"]}
                """#)
            #expect(created.status == .created)
            let body = try created.json
            #expect(body["slug"] == "team-docs")
            #expect(body["chat_mode"] == "chat")
            #expect(body["history_length"] == 5)
            #expect(body["agent_max_steps"] == 10)
            #expect(body["provider"] == .null)
            #expect(body["agent_tools"] == ["calculator"])

            let second = try await client.send(.post, "/api/workspaces", json: #"{"name": "team docs"}"#)
            #expect(try second.json["slug"] == "team-docs-2")

            let list = try await client.send(.get, "/api/workspaces")
            #expect(try list.json["workspaces"]?.arrayValue?.count == 2)

            let patched = try await client.send(.patch, "/api/workspaces/team-docs", json: #"""
                {"chat_mode": "query", "system_prompt": null, "temperature": 0.5, "provider": "anthropic", "model": "claude"}
                """#)
            #expect(patched.status == .ok)
            let patchedBody = try patched.json
            #expect(patchedBody["chat_mode"] == "query")
            #expect(patchedBody["system_prompt"] == .null)
            #expect(patchedBody["temperature"] == 0.5)
            #expect(patchedBody["history_length"] == 5, "fields left out keep their value")
            #expect(patchedBody["slug"] == "team-docs")

            let fetched = try await client.send(.get, "/api/workspaces/team-docs")
            #expect(try fetched.json == patchedBody, "\(fetched.text) vs \(patchedBody.serializedString)")
        }
    }

    @Test func workspaceValidationErrors() async throws {
        let harness = try await TestHarness()
        try await harness.addWorkspace("Docs")
        try await harness.test { client in
            let cases: [(String, String, String)] = [
                ("/api/workspaces", "{not json", "invalid_json"),
                ("/api/workspaces", "", "invalid_json"),
                ("/api/workspaces", "[1,2]", "invalid_json"),
                ("/api/workspaces", #"{"system_prompt": "x"}"#, "validation_failed"),
                ("/api/workspaces", #"{"name": 42}"#, "validation_failed"),
                ("/api/workspaces", #"{"name": "  "}"#, "validation_failed"),
                ("/api/workspaces", #"{"name": "A", "chat_mode": "poetry"}"#, "validation_failed"),
                ("/api/workspaces", #"{"name": "A", "history_length": -1}"#, "validation_failed"),
                ("/api/workspaces", #"{"name": "A", "history_length": "5"}"#, "validation_failed"),
                ("/api/workspaces", #"{"name": "A", "temperature": 7}"#, "validation_failed"),
                ("/api/workspaces", #"{"name": "A", "provider": "skynet"}"#, "validation_failed"),
                ("/api/workspaces", #"{"name": "A", "agent_tools": "calculator"}"#, "validation_failed"),
            ]
            for (path, body, code) in cases {
                let response = try await client.send(.post, path, json: body)
                #expect(response.status == .badRequest, "\(body)")
                #expect(response.errorCode == code, "\(body): \(response.text)")
            }
            let typeError = try await client.send(.post, "/api/workspaces", json: #"{"name": "A", "history_length": "5"}"#)
            #expect(try typeError.json["error"]?["message"]?.stringValue?.contains("history_length") == true)

            let nullName = try await client.send(.patch, "/api/workspaces/docs", json: #"{"name": null}"#)
            #expect(nullName.errorCode == "validation_failed")
            let unknown = try await client.send(.get, "/api/workspaces/nope")
            #expect(unknown.status == .notFound)
            #expect(unknown.errorCode == "not_found")
            let unknownPatch = try await client.send(.patch, "/api/workspaces/nope", json: #"{"name": "x"}"#)
            #expect(unknownPatch.status == .notFound)
        }
    }

    @Test func oversizeBodiesAreRefusedWith413() async throws {
        let harness = try await TestHarness { $0.maxBodySize = 2048 }
        try await harness.test { client in
            let big = #"{"name": "\#(String(repeating: "a", count: 4000))"}"#
            let response = try await client.send(.post, "/api/workspaces", json: big)
            #expect(response.status == .contentTooLarge)
            #expect(response.errorCode == "too_large")
        }
    }

    @Test func threadsBelongToTheirUser() async throws {
        let harness = try await TestHarness()
        let alice = try await harness.addUser("alice")
        let bob = try await harness.addUser("bob")
        let admin = try await harness.addUser("root", role: .admin)
        try await harness.addWorkspace("Docs")
        try await harness.test { client in
            let created = try await client.send(.post, "/api/workspaces/docs/threads", headers: try await harness.headers(for: alice),
                                                json: #"{"name": "Plans for Q3"}"#)
            #expect(created.status == .created)
            #expect(try created.json["slug"] == "plans-for-q3")
            let empty = try await client.send(.post, "/api/workspaces/docs/threads/", headers: try await harness.headers(for: alice))
            #expect(try empty.json["slug"] == "thread")

            let aliceList = try await client.send(.get, "/api/workspaces/docs/threads", headers: try await harness.headers(for: alice))
            #expect(try aliceList.json["threads"]?.arrayValue?.count == 2)
            let bobList = try await client.send(.get, "/api/workspaces/docs/threads", headers: try await harness.headers(for: bob))
            #expect(try bobList.json["threads"]?.arrayValue?.count == 0)
            let adminList = try await client.send(.get, "/api/workspaces/docs/threads", headers: try await harness.headers(for: admin))
            #expect(try adminList.json["threads"]?.arrayValue?.count == 2)

            let wrongType = try await client.send(.post, "/api/workspaces/docs/threads", headers: try await harness.headers(for: alice),
                                                  json: #"{"name": 5}"#)
            #expect(wrongType.errorCode == "validation_failed")
            let noWorkspace = try await client.send(.post, "/api/workspaces/nope/threads", headers: try await harness.headers(for: alice))
            #expect(noWorkspace.status == .notFound)
        }
    }

    @Test func welcomeMessagesForEveryoneAndForOneUser() async throws {
        let harness = try await TestHarness()
        let admin = try await harness.addUser("root", role: .admin)
        let alice = try await harness.addUser("alice")
        let bob = try await harness.addUser("bob")
        try await harness.test { client in
            let adminHeaders = try await harness.headers(for: admin)
            let aliceHeaders = try await harness.headers(for: alice)
            let everyone = try await client.send(.post, "/api/welcome-messages", headers: adminHeaders,
                                                 json: #"{"user_message": "Hi", "response": "Welcome!", "order_index": 2}"#)
            #expect(everyone.status == .created)
            #expect(try everyone.json["user_id"] == .null)
            let own = try await client.send(.post, "/api/welcome-messages/", headers: aliceHeaders,
                                            json: #"{"response": "Your notes are in #notes.", "order_index": 1}"#)
            #expect(own.status == .created)
            #expect(try own.json["user_id"] == .number(Double(alice.id!)))
            let forOthers = try await client.send(.post, "/api/welcome-messages", headers: aliceHeaders,
                                                  json: #"{"response": "x", "user_id": \#(bob.id!)}"#)
            #expect(forOthers.status == .forbidden)
            let forEveryone = try await client.send(.post, "/api/welcome-messages", headers: aliceHeaders,
                                                    json: #"{"response": "x", "user_id": null}"#)
            #expect(forEveryone.status == .forbidden)
            let missing = try await client.send(.post, "/api/welcome-messages", headers: aliceHeaders, json: #"{"order_index": 1}"#)
            #expect(missing.errorCode == "validation_failed")

            let aliceMessages = try await client.send(.get, "/api/welcome-messages", headers: aliceHeaders).json
            #expect(aliceMessages["welcome_messages"]?.arrayValue?.compactMap { $0["response"]?.stringValue }
                    == ["Your notes are in #notes.", "Welcome!"])
            let bobMessages = try await client.send(.get, "/api/welcome-messages", headers: try await harness.headers(for: bob)).json
            #expect(bobMessages["welcome_messages"]?.arrayValue?.count == 1)
        }
    }
}
