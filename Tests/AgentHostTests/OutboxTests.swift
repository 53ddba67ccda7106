import ChatBridge
import Foundation
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

    /// A log that serves its first page, then fails.
    private final class FailingLog: RunLogStore {
        let frames: [RunFrame]
        init(frames: [RunFrame]) { self.frames = frames }
        func write(_ batch: RunLogBatch) async throws {}
        func run(id: String, viewer: Viewer) async throws -> RunRecord? { nil }
        func frames(ofRun id: String, after afterSeq: Int, limit: Int) async throws -> [RunFrame] {
            guard afterSeq < 0 else { throw DatabaseError(resultCode: .SQLITE_IOERR) }
            return Array(frames.prefix(limit))
        }
        func deleteLogs(endedBefore date: Date) async throws -> Int { 0 }
    }

    /// A replay from the log that cannot read its next page tells the client where it stopped, instead
    /// of ending as if it had sent the whole run.
    @Test(.timeLimit(.minutes(1)))  // before the fix the writer waited for ever after the failed read
    func aReplayWhoseLogFailsSaysWhereToResumeFrom() async throws {
        let log = FailingLog(frames: (0..<Outbox.replayBatchSize).map { RunFrame(seq: $0, type: "t", json: "\($0)") })
        let outbox = Outbox(limit: 16)
        outbox.addReplay(StoredReplay(store: log, runId: "inv", after: -1, into: outbox, ids: ["invocation_id": "inv"],
                                      logger: Logger(label: "test")))
        let first = try #require(await outbox.next())
        #expect(first.count == Outbox.replayBatchSize)
        let second = try #require(await outbox.next())
        guard case .message(let text)? = second.first else {
            Issue.record("expected an error frame, got \(second)")
            return
        }
        let error = try JSONValue(parsing: Array(text.utf8))
        #expect(error["type"] == "error")
        #expect(error["code"] == "internal")
        #expect(error["invocation_id"] == "inv")
        #expect(error["after_seq"] == .int(Outbox.replayBatchSize - 1))
    }

    /// A run suspended at shutdown (it waits on its client across the restart) publishes nothing more
    /// here: a stream that ends with the run and attaches afterwards gets the frames so far and ends,
    /// instead of holding the server's drain until its timeout.
    @Test func aStreamAttachedToASuspendedRunEndsAfterItsFrames() async throws {
        let store = SQLiteStore(writer: try DatabaseQueue())
        try AppDatabase.migrate(store.writer)
        let run = LiveRun(record: RunRecord(id: "run", kind: .agent, workspaceId: 1, userId: nil),
                          log: RunLogWriter(store: store, logger: Logger(label: "test")))
        for _ in 0..<3 { run.publish { RunFrame(seq: $0, type: "t", json: "\($0)") } }
        run.suspend()
        for afterSeq in [-1, 2] {
            let outbox = Outbox(limit: 16)
            run.attach(outbox, after: afterSeq, endsWithRun: true)
            let seqs = await withTaskGroup(of: [Int]?.self) { group in
                group.addTask {
                    var seqs: [Int] = []
                    while let frames = await outbox.next() {
                        for case .run(let frame) in frames { seqs.append(frame.seq) }
                    }
                    return seqs
                }
                group.addTask {
                    try? await Task.sleep(for: .seconds(5))
                    return nil  // still waiting: the stream never ended
                }
                let first = await group.next()!
                group.cancelAll()
                return first
            }
            #expect(seqs == Array(afterSeq + 1..<3), "after_seq \(afterSeq): the frames so far, then the end")
        }
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
