import ChatBridge
import Foundation
import NIOCore
import Synchronization

/// A frame on its way to one connection.
enum OutboundFrame: Sendable {
    /// A frame of a run, with its `seq`.
    case run(RunFrame)
    /// A frame of the connection itself (`connected`, `pong`, an `error` answer, room fan-out), serialized.
    case message(String)
    /// Nothing to say: an SSE comment keeps idle proxies from closing the stream.
    case keepAlive
}

/// A replay the connection's writer pulls, a batch at a time, only when it has written the last
/// one: a `resume` of any length goes out at the client's pace and costs no queued frames.
protocol ReplayCursor: Sendable {
    /// The next frames (at most `max`). `caughtUp` means the source now delivers the rest live to
    /// the connection's outbox (switched over atomically with the last frames returned), or has
    /// nothing more.
    func pull(max: Int) async -> ReplayBatch
}

/// One pull of a ``ReplayCursor``.
struct ReplayBatch: Sendable {
    var frames: [RunFrame]
    var caughtUp: Bool
}

/// The one outbound policy of SSE and both WebSockets: live frames are handed over without waiting
/// into a bounded queue, and a connection whose queue overflows is marked too slow (its writer ends
/// the connection in a way the client can resume from: 4001 on a WebSocket, the end of an SSE
/// stream) instead of slowing the run or anybody else; replays are pulled by the writer (see
/// ``ReplayCursor``), so they never fill the queue. The writer takes everything queued at once,
/// so a burst of tokens costs one write.
final class Outbox: Sendable {
    /// Frames a writer takes from a replay per pull.
    static let replayBatchSize = 64

    private struct State {
        var live: [OutboundFrame] = []
        var replays: [(id: UUID, cursor: any ReplayCursor)] = []
        var finished = false
        /// Whether the writer has taken the end (``next()`` returned `nil`).
        var endTaken = false
        var writer: CheckedContinuation<Void, Never>?
        /// Starts a writer that runs only while there is something to write (``writeOnDemand(_:)``).
        var wake: (@Sendable () -> Void)?
        /// Whether that writer runs now.
        var wakingWriterRuns = false

        /// The wake-up of an on-demand writer when none runs (and marks it running).
        mutating func startWriter() -> (@Sendable () -> Void)? {
            guard let wake, !wakingWriterRuns, !finished else { return nil }
            wakingWriterRuns = true
            return wake
        }
    }

    private let state = Mutex(State())
    private let slow = CancelSignal()
    /// Live frames that may wait for the writer before the connection counts as too slow.
    let limit: Int

    init(limit: Int) {
        self.limit = limit
    }

    /// Queues a frame; returns false (and marks the connection too slow) when the queue is full.
    @discardableResult
    func deliver(_ frame: OutboundFrame) -> Bool {
        enum Outcome {
            case queued(CheckedContinuation<Void, Never>?, wake: (@Sendable () -> Void)?)
            case overflow(CheckedContinuation<Void, Never>?)
            case closed
        }
        let outcome: Outcome = state.withLock { state in
            guard !state.finished else { return .closed }
            guard state.live.count < limit else {
                state.finished = true
                state.live.removeAll()
                state.replays.removeAll()
                state.wake = nil
                defer { state.writer = nil }
                return .overflow(state.writer)
            }
            state.live.append(frame)
            defer { state.writer = nil }
            return .queued(state.writer, wake: state.startWriter())
        }
        switch outcome {
        case .queued(let writer, let wake):
            writer?.resume()
            wake?()
            return true
        case .overflow(let writer):
            slow.request()
            writer?.resume()
            return false
        case .closed:
            return false
        }
    }

    /// Queues a connection frame (not part of a run).
    @discardableResult
    func deliver(_ frame: JSONValue) -> Bool {
        deliver(.message(frame.serializedString))
    }

    /// Adds a replay for the writer to pull after the live frames queued so far.
    func addReplay(_ cursor: any ReplayCursor) {
        let (writer, wake) = state.withLock { state -> (CheckedContinuation<Void, Never>?, (@Sendable () -> Void)?) in
            guard !state.finished else { return (nil, nil) }
            state.replays.append((UUID.random(), cursor))
            defer { state.writer = nil }
            return (state.writer, state.startWriter())
        }
        writer?.resume()
        wake?()
    }

    /// The next frames to write: every queued live frame, else the next batch of a replay; waits
    /// when there is nothing; `nil` once finished (or when the waiting task is cancelled). One writer.
    func next() async -> [OutboundFrame]? {
        enum Step { case frames([OutboundFrame]), pull(UUID, any ReplayCursor), end, wait }
        while !Task.isCancelled {
            let step: Step = state.withLock { state in
                if !state.live.isEmpty {
                    defer { state.live.removeAll(keepingCapacity: true) }
                    return .frames(state.live)
                }
                if state.finished {
                    state.endTaken = true
                    return .end
                }
                if let replay = state.replays.first { return .pull(replay.id, replay.cursor) }
                return .wait
            }
            switch step {
            case .frames(let frames):
                return frames
            case .end:
                return nil
            case .pull(let id, let cursor):
                let batch = await cursor.pull(max: Self.replayBatchSize)
                if batch.caughtUp { state.withLock { $0.replays.removeAll { $0.id == id } } }
                if !batch.frames.isEmpty { return batch.frames.map(OutboundFrame.run) }
            case .wait:
                await withTaskCancellationHandler {
                    await withCheckedContinuation { continuation in
                        let now = state.withLock { state -> Bool in
                            if !state.live.isEmpty || !state.replays.isEmpty || state.finished || Task.isCancelled { return true }
                            state.writer = continuation
                            return false
                        }
                        if now { continuation.resume() }
                    }
                } onCancel: {
                    state.withLock { state in
                        defer { state.writer = nil }
                        return state.writer
                    }?.resume()
                }
            }
        }
        return nil
    }

    /// No more frames: the writer gets what is queued, then `nil`; replays are dropped.
    func finish() {
        let writer = state.withLock { state -> CheckedContinuation<Void, Never>? in
            state.finished = true
            state.replays.removeAll()
            // The wake-up refers to the writer, which refers to this outbox.
            state.wake = nil
            defer { state.writer = nil }
            return state.writer
        }
        writer?.resume()
    }

    /// Writes through a writer that exists only while there is something to write, instead of one
    /// that waits in ``next()`` for as long as the connection is open: `wake` starts one whenever
    /// frames or a replay arrive and none runs (at once if some are queued); it calls
    /// ``nextForWokenWriter()`` until that returns `nil`, then ends. One writer at a time.
    func writeOnDemand(_ wake: @escaping @Sendable () -> Void) {
        let now = state.withLock { state -> (@Sendable () -> Void)? in
            guard !state.finished else { return nil }
            state.wake = wake
            guard !state.live.isEmpty || !state.replays.isEmpty else { return nil }
            return state.startWriter()
        }
        now?()
    }

    /// The next frames for a writer started by ``writeOnDemand(_:)``, without waiting: every queued
    /// live frame, else the next batch of a replay; `nil` when there is nothing now (the writer
    /// ends; the next delivery starts another) or once finished.
    func nextForWokenWriter() async -> [OutboundFrame]? {
        enum Step { case frames([OutboundFrame]), pull(UUID, any ReplayCursor), stop }
        // Bounded: each pass returns, or consumes a replay batch that made progress or caught up.
        while true {
            let step: Step = state.withLock { state in
                if !state.live.isEmpty {
                    // Not kept at capacity: an idle connection should not hold its largest burst's array.
                    defer { state.live = [] }
                    return .frames(state.live)
                }
                if !state.finished, let replay = state.replays.first { return .pull(replay.id, replay.cursor) }
                state.wakingWriterRuns = false
                return .stop
            }
            switch step {
            case .frames(let frames):
                return frames
            case .stop:
                return nil
            case .pull(let id, let cursor):
                let batch = await cursor.pull(max: Self.replayBatchSize)
                if batch.caughtUp { state.withLock { $0.replays.removeAll { $0.id == id } } }
                if !batch.frames.isEmpty { return batch.frames.map(OutboundFrame.run) }
                if !batch.caughtUp && Task.isCancelled { return nil }
            }
        }
    }

    var isTooSlow: Bool { slow.isRequested }

    /// The outbox of an SSE stream on `connection`, whose writer awaits each write: a client cut off
    /// for slowness may have stopped reading altogether while keeping its socket open, and then its
    /// writer never gets past the write in progress, holding the response, the connection and the
    /// run's subscription. If the writer has not taken the stream's end `grace` after the cut, the
    /// connection is closed, which ends that write.
    static func sse(limit: Int, on connection: any Channel, grace: Duration) -> Outbox {
        let outbox = Outbox(limit: limit)
        outbox.closeIfStuck(connection, after: grace)
        return outbox
    }

    private func closeIfStuck(_ connection: any Channel, after grace: Duration) {
        whenTooSlow { [weak self] in
            connection.eventLoop.scheduleTask(in: TimeAmount(grace)) { [weak self] in
                // Gone: its writer ended and let it go.
                guard let self, !self.state.withLock({ $0.endTaken }) else { return }
                connection.close(promise: nil)
            }
        }
    }

    /// Runs `action` once, on the delivering thread, the moment the connection falls behind (at
    /// once if it already has): a WebSocket closes itself from there without a task of its own
    /// watching for it.
    func whenTooSlow(_ action: @escaping @Sendable () -> Void) {
        slow.whenRequested(action)
    }
}
