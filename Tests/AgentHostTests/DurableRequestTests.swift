import ChatBridge
import GRDB
import Logging
import Foundation
import Testing

@testable import AgentHost

/// A request to the client reaches it only once it is in the run log (PROTOCOL §8): a crash right
/// after the client saw it cannot erase the wait it answers.
@Suite("Durable requests to the client")
struct DurableRequestTests {
    @Test func aRequestIsLoggedBeforeAnyWatcherSeesItAndLaterFramesKeepTheirOrder() async throws {
        let store = SQLiteStore(writer: try DatabaseQueue())
        try AppDatabase.migrate(store.writer)
        let run = LiveRun(record: RunRecord(id: "inv", kind: .agent, workspaceId: 1, userId: nil),
                          log: RunLogWriter(store: store, logger: Logger(label: "test")))
        let outbox = Outbox(limit: 64)
        run.attach(outbox, after: -1)
        run.publish { RunFrame(seq: $0, type: "agent_start", json: "{}") }
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                await run.publishDurably(request: .opens("c1")) {
                    RunFrame(seq: $0, type: "tool_call", json: #"{"call_id":"c1","executor":"client"}"#)
                }
            }
            group.addTask {
                for _ in 0..<20 { run.publish { RunFrame(seq: $0, type: "agent_token", json: "{}") } }
            }
        }
        var seqs: [Int] = []
        var sawRequest = false
        while seqs.count < 22, let frames = await outbox.next() {
            for case .run(let frame) in frames {
                seqs.append(frame.seq)
                if frame.type == "tool_call" {
                    sawRequest = true
                    let logged = try await store.frames(ofRun: "inv", after: -1, limit: 100)
                    #expect(logged.contains { $0.type == "tool_call" }, "the request is in the log before the client has it")
                }
            }
        }
        #expect(sawRequest)
        #expect(seqs == Array(0..<22), "every frame once, in order, around the held request")
    }
}

extension DurableRequestTests {
    /// A run log whose writes wait until the test opens the gate.
    private final class GatedStore: RunLogStore {
        let gate = AsyncStream<Void>.makeStream()
        let writes = AsyncStream<Void>.makeStream()

        func write(_ batch: RunLogBatch) async throws {
            writes.continuation.yield()
            for await _ in gate.stream { break }
        }
        func run(id: String, viewer: Viewer) async throws -> RunRecord? { nil }
        func frames(ofRun id: String, after afterSeq: Int, limit: Int) async throws -> [RunFrame] { [] }
        func deleteLogs(endedBefore date: Date) async throws -> Int { 0 }
    }

    private static func seqs(of outbox: Outbox, count: Int) async -> [Int] {
        var seqs: [Int] = []
        while seqs.count < count, let frames = await outbox.next() {
            for case .run(let frame) in frames { seqs.append(frame.seq) }
        }
        return seqs
    }

    @Test func watchersThatAttachWhileARequestIsHeldGetEachFrameOnce() async throws {
        let store = GatedStore()
        let run = LiveRun(record: RunRecord(id: "inv", kind: .agent, workspaceId: 1, userId: nil),
                          log: RunLogWriter(store: store, logger: Logger(label: "test")))
        let early = Outbox(limit: 64)
        run.attach(early, after: -1)
        for _ in 0..<3 { run.publish { RunFrame(seq: $0, type: "agent_token", json: "{}") } }
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                await run.publishDurably(request: .opens("c1")) {
                    RunFrame(seq: $0, type: "tool_call", json: #"{"call_id":"c1","executor":"client"}"#)
                }
            }
            // The request's write has started and waits at the gate: the request (3) and what follows (4) are held.
            for await _ in store.writes.stream { break }
            run.publish { RunFrame(seq: $0, type: "agent_token", json: "{}") }
            #expect(await Self.seqs(of: early, count: 3) == [0, 1, 2])
            let replaying = Outbox(limit: 64)
            run.attach(replaying, after: -1)
            #expect(await Self.seqs(of: replaying, count: 3) == [0, 1, 2], "a replay stops before the held frames")
            let afterRequest = Outbox(limit: 64)
            run.attach(afterRequest, after: 3)
            store.gate.continuation.yield()
            try await group.waitForAll()
            #expect(await Self.seqs(of: early, count: 2) == [3, 4])
            #expect(await Self.seqs(of: replaying, count: 2) == [3, 4])
            // After seq 3: frame 4, then the unanswered request it says it saw, sent again (PROTOCOL §8).
            #expect(await Self.seqs(of: afterRequest, count: 2) == [4, 3])
            run.publish { RunFrame(seq: $0, type: "agent_token", json: "{}") }
            for outbox in [early, replaying, afterRequest] { #expect(await Self.seqs(of: outbox, count: 1) == [5]) }
        }
    }
}
