import ChatBridge
import GRDB
import Logging
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
