import ChatBridge
import GRDB
import Logging
import Testing

@testable import AgentHost

/// The per-user limit on concurrent agent runs counts an owner's unfinished runs only, while
/// finished runs stay registered (for replay) until they are removed.
@Suite("Invocation registry")
struct InvocationRegistryTests {
    private let log: RunLogWriter

    init() throws {
        let store = SQLiteStore(writer: try DatabaseQueue())
        try AppDatabase.migrate(store.writer)
        log = RunLogWriter(store: store, logger: Logger(label: "test"))
    }

    private func invocation(_ id: String, owner: Int64?) -> Invocation {
        Invocation(run: LiveRun(record: RunRecord(id: id, kind: .agent, workspaceId: 1, userId: owner), log: log),
                   workspaceSlug: "w")
    }

    private func finish(_ invocation: Invocation) {
        invocation.run.publish(terminal: true) { RunFrame(seq: $0, type: "agent_complete", json: "{}") }
    }

    private func refusal(_ registry: InvocationRegistry, _ invocation: Invocation) -> APIError? {
        do {
            try registry.register(invocation)
            return nil
        } catch {
            return error as? APIError
        }
    }

    @Test func theLimitCountsTheOwnersUnfinishedRunsOnly() throws {
        let registry = InvocationRegistry(maxConcurrentPerUser: 2)
        // Many finished runs of the same owner, still registered for replay, take no slot.
        for index in 0..<50 {
            let done = invocation("done-\(index)", owner: 7)
            try registry.register(done)
            finish(done)
        }
        let first = invocation("a", owner: 7)
        let second = invocation("b", owner: 7)
        try registry.register(first)
        try registry.register(second)
        let refused = try #require(refusal(registry, invocation("c", owner: 7)))
        #expect(refused.code == .rateLimited)
        #expect(refused.details["used"] == .int(2))
        // Another owner (and single-user mode's nil owner) has slots of its own.
        try registry.register(invocation("other", owner: 8))
        try registry.register(invocation("solo", owner: nil))
        #expect(registry.count == 54)

        // A finished run frees its slot while it stays registered; a removed one frees it too.
        finish(first)
        try registry.register(invocation("c", owner: 7))
        #expect(registry.lookup("a") != nil)
        #expect(refusal(registry, invocation("d", owner: 7))?.code == .rateLimited)
        registry.remove("b")
        try registry.register(invocation("d", owner: 7))
        #expect(refusal(registry, invocation("e", owner: 7))?.code == .rateLimited)
    }

    @Test func aRunContinuedAfterARestartIsRegisteredBeyondTheLimitAndCounted() throws {
        let registry = InvocationRegistry(maxConcurrentPerUser: 1)
        try registry.register(invocation("a", owner: 7))
        try registry.register(invocation("restored", owner: 7), enforcingLimit: false)
        let refused = try #require(refusal(registry, invocation("b", owner: 7)))
        #expect(refused.details["used"] == .int(2))
        #expect(refusal(registry, invocation("a", owner: 9))?.code == .conflict)
    }
}
