import AgentHostTesting
import ChatBridge
import Foundation
import Synchronization
import Testing

@testable import AgentHost

/// Agent steps are stored with the run log's batches: a step waits for no write of its own, and
/// the steps are in the database whenever something relies on them (PROTOCOL §6, §8).
@Suite("Agent steps stored with the run log", .timeLimit(.minutes(1)))
struct AgentStepStorageTests {
    /// An invocation store whose own step inserts take 40 s: a run that waited for them would take
    /// well over the 20 s the test allows (generous for a loaded machine; the run takes milliseconds),
    /// and still end, so a regression fails rather than hangs.
    final class StalledStepInserts: InvocationStore {
        let base: any InvocationStore
        let calls = Mutex(0)

        init(_ base: any InvocationStore) { self.base = base }

        func recordStep(_ step: AgentStep) async throws {
            calls.withLock { $0 += 1 }
            try await Task.sleep(for: .seconds(40))
        }
        func createInvocation(_ invocation: AgentInvocation) async throws { try await base.createInvocation(invocation) }
        func finishInvocation(_ invocation: AgentInvocation) async throws { try await base.finishInvocation(invocation) }
        func invocation(id: String, viewer: Viewer) async throws -> (AgentInvocation, [AgentStep])? {
            try await base.invocation(id: id, viewer: viewer)
        }
        func latestInvocation(threadId: Int64, viewer: Viewer) async throws -> (AgentInvocation, [AgentStep])? {
            try await base.latestInvocation(threadId: threadId, viewer: viewer)
        }
        func invocations(_ query: InvocationListQuery, viewer: Viewer) async throws -> InvocationPage {
            try await base.invocations(query, viewer: viewer)
        }
    }

    struct TimedOut: Error {}

    /// `body`'s value, or a failure after `limit` (a hang must fail the test, not stall the suite).
    static func within<Value: Sendable>(_ limit: Duration, _ body: @escaping @Sendable () async throws -> Value) async throws -> Value {
        let outcome = await withTimeout(limit) { () -> Result<Value, any Error> in
            do { return .success(try await body()) } catch { return .failure(error) }
        }
        guard let outcome else { throw TimedOut() }
        return try outcome.get()
    }

    @Test func aServerToolRunWaitsForNoStepWriteAndIsStoredWholeWhenItEnds() async throws {
        var storage = Storage.sqlite(try AppDatabase.inMemory())
        let stalled = StalledStepInserts(storage.invocations)
        storage.invocations = stalled
        try await TestHarness.withUpstream(storage: storage) { harness, upstream in
            try await harness.addWorkspace("Ops")
            await upstream.enqueue(AgentScripts.calls([("call_1", "calculator", #"{"expression": "2+2"}"#)]),
                                   AgentScripts.answer("It is 4."))
            try await harness.testLive { client in
                try await client.agentSocket("ops") { socket in
                    try await socket.send(AgentSocketTests.invoke("What is 2+2?"))
                    let complete = try await Self.within(.seconds(20)) { try await socket.untilComplete() }
                    #expect(complete["status"] == "completed" && complete["steps"] == 2)
                    let id = try #require(complete["invocation_id"]?.stringValue)

                    // Read at once: the run's end waited until its steps were stored.
                    let (invocation, steps) = try #require(try await harness.store.invocation(id: id, viewer: .singleUser))
                    #expect(invocation.status == .completed)
                    #expect(steps.map(\.kind) == [.llm, .tool, .llm] && steps.map(\.step) == [1, 1, 2])
                    #expect(steps[0].toolCalls?.arrayValue?.first?["name"] == "calculator")
                    #expect(steps[1].callId == "call_1" && steps[1].name == "calculator" && steps[1].executor == "server")
                    #expect(steps[1].arguments == ["expression": "2+2"] && steps[1].output?["result"] == 4)
                    #expect(steps[1].isError == false && steps[1].durationMs != nil)
                    #expect(steps[2].text == "It is 4." && steps[2].toolCalls == nil)
                }
            }
        }
        #expect(stalled.calls.withLock { $0 } == 0, "the engine stores steps with the run log, not one insert at a time")
    }

    /// A restarted server rebuilds a run waiting on its client from the stored model step: the
    /// client gets the call only once that step is in the database.
    @Test func aClientCallGoesOutOnlyOnceItsModelStepIsStored() async throws {
        try await TestHarness.withUpstream { harness, upstream in
            try await harness.addWorkspace("Ops")
            await upstream.enqueue(AgentScripts.calls([("c1", "get_location", #"{"precision": "city"}"#)]),
                                   AgentScripts.answer("You are in Lyon."))
            try await harness.testLive { client in
                try await client.agentSocket("ops") { socket in
                    try await socket.send(AgentSocketTests.invoke("Where am I?", ["client_tools": [AgentSocketTests.locationTool]]))
                    let call = try await Self.within(.seconds(10)) { try await socket.next("tool_call") }
                    let id = try #require(call["invocation_id"]?.stringValue)
                    let (_, steps) = try #require(try await harness.store.invocation(id: id, viewer: .singleUser))
                    #expect(steps.map(\.kind) == [.llm])
                    #expect(steps.first?.toolCalls?.arrayValue?.first?["id"] == "c1")
                    try await socket.send(["type": "tool_result", "invocation_id": .string(id), "call_id": "c1", "output": ["city": "Lyon"]])
                    let complete = try await Self.within(.seconds(10)) { try await socket.untilComplete() }
                    #expect(complete["response"] == "You are in Lyon.")
                    let (_, all) = try #require(try await harness.store.invocation(id: id, viewer: .singleUser))
                    #expect(all.map(\.kind) == [.llm, .tool, .llm])
                    #expect(all[1].output == ["city": "Lyon"] && all[1].executor == "client")
                }
            }
        }
    }
}
