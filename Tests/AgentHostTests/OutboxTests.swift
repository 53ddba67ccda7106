import ChatBridge
import GRDB
import Logging
import Testing

@testable import AgentHost

@Suite("The outbound policy of every stream")
struct OutboxTests {
    private func frame(_ seq: Int) -> OutboundFrame {
        .run(RunFrame(seq: seq, type: "chat_token", json: #"{"seq":\#(seq)}"#))
    }

    @Test func whatIsQueuedBetweenWritesGoesOutInOneBatch() async throws {
        let outbox = Outbox(limit: 16)
        for seq in 0..<3 { #expect(outbox.deliver(frame(seq))) }
        let batch = try #require(await outbox.next())
        #expect(batch.count == 3)
        outbox.finish()
        #expect(await outbox.next() == nil)
    }

    @Test func aWaitingWriterGetsTheFirstFrameAtOnce() async throws {
        let outbox = Outbox(limit: 16)
        async let first = outbox.next()
        try await Task.sleep(for: .milliseconds(20))
        outbox.deliver(frame(0))
        #expect(await first?.count == 1)
    }

    @Test func aConsumerThatFallsBehindIsCutOffNotWaitedFor() async {
        let outbox = Outbox(limit: 4)
        for seq in 0..<4 { #expect(outbox.deliver(frame(seq))) }
        #expect(!outbox.deliver(frame(4)), "the fifth frame overflows the buffer")
        #expect(outbox.isTooSlow)
        #expect(await outbox.next() == nil, "an overflowing connection is closed, not drained")
    }

    @Test func replaysArePulledAfterTheLiveFramesAndFinishWithTheRun() async throws {
        let store = SQLiteStore(writer: try DatabaseQueue())
        try AppDatabase.migrate(store.writer)
        let log = RunLogWriter(store: store, logger: Logger(label: "test"))
        let run = LiveRun(record: RunRecord(id: "run", kind: .chat, workspaceId: 1, userId: nil), log: log)
        for seq in 0..<100 {
            run.publish(terminal: seq == 99) { RunFrame(seq: $0, type: "t", json: "\($0)") }
            #expect(run.lastSeq == seq)
        }
        let outbox = Outbox(limit: 4)
        run.attach(outbox, after: 9, endsWithRun: true)
        var seqs: [Int] = []
        while let frames = await outbox.next() {
            for case .run(let frame) in frames { seqs.append(frame.seq) }
        }
        #expect(seqs == Array(10..<100), "a replay longer than the buffer goes out whole, in order, then the stream ends")
    }
}

extension OutboundFrame: Equatable {
    public static func == (lhs: OutboundFrame, rhs: OutboundFrame) -> Bool {
        switch (lhs, rhs) {
        case (.run(let a), .run(let b)): a == b
        case (.message(let a), .message(let b)): a == b
        case (.keepAlive, .keepAlive): true
        default: false
        }
    }
}
