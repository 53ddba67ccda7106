import ChatBridge
import GRDB
import Logging
import Testing

@testable import AgentHost

/// A run another instance executes, followed here from its log (PROTOCOL §9): watchers get its
/// frames exactly as they would a local run's.
@Suite("Followed runs")
struct FollowedRunTests {
    private static func agentFrame(_ seq: Int, _ type: String, _ fields: String = "") -> RunFrame {
        RunFrame(seq: seq, type: type, json: #"{"type":"\#(type)","seq":\#(seq)\#(fields)}"#)
    }

    private func run(restoring frames: [RunFrame] = []) throws -> LiveRun {
        let store = SQLiteStore(writer: try DatabaseQueue())
        try AppDatabase.migrate(store.writer)
        return LiveRun(record: RunRecord(id: "inv", kind: .agent, workspaceId: 1, userId: nil),
                       log: RunLogWriter(store: store, logger: Logger(label: "test")), restoring: frames)
    }

    @Test func mirroredFramesReachWatchersOnceAndInOrderAndTheEndFinishesTheStream() async throws {
        let run = try run(restoring: [Self.agentFrame(0, "agent_start")])
        let outbox = Outbox(limit: 64)
        run.attach(outbox, after: -1, endsWithRun: true)
        // Overlapping reads of the log: frames already here are skipped, a gap stops the append.
        run.mirror([Self.agentFrame(0, "agent_start"), Self.agentFrame(1, "agent_token")], ended: false)
        run.mirror([Self.agentFrame(1, "agent_token"), Self.agentFrame(2, "agent_token")], ended: false)
        run.mirror([Self.agentFrame(4, "agent_token")], ended: false)
        #expect(run.lastSeq == 2)
        run.mirror([Self.agentFrame(3, "agent_complete")], ended: true)
        #expect(run.isFinished)
        run.mirror([Self.agentFrame(4, "agent_token")], ended: true)
        var seqs: [Int] = []
        while let frames = await outbox.next() {
            for case .run(let frame) in frames { seqs.append(frame.seq) }
        }
        #expect(seqs == [0, 1, 2, 3])
    }

    @Test func aResumeGetsTheFollowedRunsUnansweredClientCallAgain() async throws {
        let run = try run()
        run.mirror([Self.agentFrame(0, "agent_start"),
                    Self.agentFrame(1, "tool_call", #","call_id":"c1","executor":"client","name":"where""#),
                    Self.agentFrame(2, "tool_call", #","call_id":"s1","executor":"server","name":"calc""#),
                    Self.agentFrame(3, "approval_required", #","call_id":"c2","name":"pay""#)], ended: false)
        let outbox = Outbox(limit: 64)
        run.attach(outbox, after: 3)
        let first = try #require(await outbox.next())
        // Nothing after seq 3, then the requests it already saw and must answer: c1 and c2, not the server call.
        #expect(first.compactMap { if case .run(let frame) = $0 { frame.seq } else { nil } } == [1, 3])
        run.mirror([Self.agentFrame(4, "tool_result", #","call_id":"c1""#)], ended: false)
        let second = Outbox(limit: 64)
        run.attach(second, after: 4)
        let again = try #require(await second.next())
        #expect(again.compactMap { if case .run(let frame) = $0 { frame.seq } else { nil } } == [3])
    }
}
