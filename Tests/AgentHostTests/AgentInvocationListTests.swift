import ChatBridge
import Foundation
import Hummingbird
import HummingbirdTesting
import Testing

@testable import AgentHost

/// `GET /api/agent/invocations/`: owner-scoped, filtered, newest first, paged with a cursor.
@Suite("Agent invocation list")
struct AgentInvocationListTests {
    private func addRun(_ harness: TestHarness, workspace: Workspace, user: User?, message: String, status: AgentInvocation.Status,
                        createdAt: Date) async throws {
        var run = AgentInvocation(id: UUID().uuidString, workspaceId: workspace.id!, threadId: nil, userId: user?.id, requestId: nil,
                                  message: message, maxSteps: 5, clientTools: [], createdAt: createdAt)
        try await harness.store.createInvocation(run)
        run.status = status
        run.promptTokens = 7
        run.finishedAt = status == .running ? nil : createdAt.addingTimeInterval(1)
        try await harness.store.finishInvocation(run)
    }

    private func messages(_ response: TestResponse) throws -> [String] {
        try #require(try response.json["invocations"]?.arrayValue).compactMap { $0["message"]?.stringValue }
    }

    @Test func usersSeeTheirOwnRunsAndAdminsEveryone() async throws {
        let harness = try await TestHarness()
        let alice = try await harness.addUser("alice")
        let bob = try await harness.addUser("bob")
        let admin = try await harness.addUser("root", role: .admin)
        let docs = try await harness.addWorkspace("Docs")
        let other = try await harness.addWorkspace("Other")
        let start = Date(timeIntervalSince1970: 1_800_000_000)
        try await addRun(harness, workspace: docs, user: alice, message: "a1", status: .completed, createdAt: start)
        try await addRun(harness, workspace: other, user: alice, message: "a2", status: .failed, createdAt: start.addingTimeInterval(10))
        try await addRun(harness, workspace: docs, user: bob, message: "b1", status: .completed, createdAt: start.addingTimeInterval(20))
        try await harness.test { client in
            let mine = try await client.send(.get, "/api/agent/invocations/", headers: try await harness.headers(for: alice))
            #expect(mine.status == .ok)
            #expect(try messages(mine) == ["a2", "a1"])
            let first = try #require(try mine.json["invocations"]?.arrayValue?.first)
            #expect(first["workspace"] == "other")
            #expect(first["status"] == "failed")
            #expect(first["usage"]?["prompt_tokens"] == 7)
            #expect(first["duration_ms"] == 1000)
            #expect(first["step_log"] == nil)

            let everyone = try await client.send(.get, "/api/agent/invocations", headers: try await harness.headers(for: admin))
            #expect(try messages(everyone) == ["b1", "a2", "a1"])
            let docsOnly = try await client.send(.get, "/api/agent/invocations/?workspace=docs", headers: try await harness.headers(for: admin))
            #expect(try messages(docsOnly) == ["b1", "a1"])
            let failed = try await client.send(.get, "/api/agent/invocations/?status=failed", headers: try await harness.headers(for: admin))
            #expect(try messages(failed) == ["a2"])
            let anonymous = try await client.send(.get, "/api/agent/invocations/")
            #expect(anonymous.status == .unauthorized)
        }
    }

    @Test func theCursorWalksEveryRunOnce() async throws {
        let harness = try await TestHarness()
        let docs = try await harness.addWorkspace("Docs")
        let start = Date(timeIntervalSince1970: 1_800_000_000)
        // Two runs share a creation time: the id breaks the tie, so neither is skipped nor repeated.
        for index in 0..<5 {
            try await addRun(harness, workspace: docs, user: nil, message: "run\(index)", status: .completed,
                             createdAt: start.addingTimeInterval(Double(min(index, 3))))
        }
        try await harness.test { client in
            var seen: [String] = []
            var cursor: String?
            for _ in 0..<10 {
                let uri = "/api/agent/invocations/?limit=2" + (cursor.map { "&cursor=\($0)" } ?? "")
                let page = try await client.send(.get, uri)
                #expect(page.status == .ok)
                seen += try messages(page)
                cursor = try page.json["next_cursor"]?.stringValue
                if cursor == nil { break }
            }
            #expect(seen.count == 5)
            #expect(Set(seen).count == 5)
            #expect(Array(seen.prefix(1)) == ["run4"] || Array(seen.prefix(1)) == ["run3"])
        }
    }

    /// Cursors are opaque, but a forged one is a 400: times past the year 9999 (the first one, some 292
    /// million years out, stopped a PostgreSQL-backed server in its driver) or before 1970.
    @Test(arguments: ["cursor=nope", "cursor=aTE6OTIyMzM3MjAzNjg1NDc3NTgwNzp4", "cursor=aTE6LTE6eA", "cursor=aTE6MjUzNDAyMzAwODAwMDAwOng",
                      "status=sleeping", "thread=t1", "limit=0", "workspace=missing"])
    func badQueriesAreRefused(_ query: String) async throws {
        let harness = try await TestHarness()
        try await harness.addWorkspace("Docs")
        try await harness.test { client in
            let response = try await client.send(.get, "/api/agent/invocations/?\(query)")
            #expect(response.status == (query.hasPrefix("workspace") ? .notFound : .badRequest))
        }
    }
}
