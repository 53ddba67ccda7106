import ChatBridge
import GRDB
import Logging
import Synchronization
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

    /// The writer of an idle WebSocket does not exist: it is started when frames arrive, one at a
    /// time, and ends when it has written them.
    @Test func anOnDemandWriterIsStartedByDeliveriesOneAtATimeAndEndsWhenDrained() async throws {
        let outbox = Outbox(limit: 16)
        let starts = StartCount()
        outbox.deliver(frame(0))
        outbox.writeOnDemand { starts.add() }
        #expect(starts.value == 1, "a frame queued before the writer was set up starts one at once")
        outbox.deliver(frame(1))
        #expect(starts.value == 1, "no second writer while one runs")
        #expect(try #require(await outbox.nextForWokenWriter()) == [frame(0), frame(1)])
        #expect(await outbox.nextForWokenWriter() == nil, "drained: the writer ends")
        #expect(starts.value == 1)
        outbox.deliver(frame(2))
        #expect(starts.value == 2, "the next frame starts a new writer")
        #expect(try #require(await outbox.nextForWokenWriter()) == [frame(2)])
        #expect(await outbox.nextForWokenWriter() == nil)
        outbox.finish()
        outbox.deliver(frame(3))
        #expect(starts.value == 2, "a finished outbox starts no writer")
        #expect(await outbox.nextForWokenWriter() == nil)
    }

    @Test func anOnDemandWriterPullsAReplayAfterTheLiveFrames() async throws {
        let store = SQLiteStore(writer: try DatabaseQueue())
        try AppDatabase.migrate(store.writer)
        let log = RunLogWriter(store: store, logger: Logger(label: "test"))
        let run = LiveRun(record: RunRecord(id: "run", kind: .chat, workspaceId: 1, userId: nil), log: log)
        for seq in 0..<100 { run.publish(terminal: seq == 99) { RunFrame(seq: $0, type: "t", json: "\($0)") } }
        let outbox = Outbox(limit: 4)
        let starts = StartCount()
        outbox.writeOnDemand { starts.add() }
        #expect(starts.value == 0, "nothing to write: no writer")
        run.attach(outbox, after: 9, endsWithRun: true)
        #expect(starts.value == 1)
        var seqs: [Int] = []
        // Bounded: 90 frames come in batches of at most 64.
        for _ in 0..<10 {
            guard let frames = await outbox.nextForWokenWriter() else { break }
            for case .run(let frame) in frames { seqs.append(frame.seq) }
        }
        #expect(seqs == Array(10..<100), "a replay longer than the buffer goes out whole, in order")
        #expect(await outbox.nextForWokenWriter() == nil)
    }
}

/// How often an on-demand writer was started.
private final class StartCount: Sendable {
    private let count = Mutex(0)
    var value: Int { count.withLock { $0 } }
    func add() { count.withLock { $0 += 1 } }
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
