import Foundation
import Logging
import Synchronization

/// Appends runs' frames to the ``RunLogStore`` in batches: frames go out to watchers at once and
/// reach the log within ``interval`` (PROTOCOL §8 allows 100 ms) or as soon as ``maxBatchFrames``
/// wait, every run's frames of one batch in one transaction, so the log costs the token path a lock
/// and an array append.
///
/// ``flush()`` writes at once, for frames that must be durable before the run relies on them (a run
/// that starts waiting on its client, a terminal frame). One loop (``run()``) does every write, so a
/// run's frames are stored in order; its owner runs it for as long as runs can append.
public final class RunLogWriter: Sendable {
    private struct State {
        var batch = RunLogBatch()
        /// Index of each run's entry in `batch.frames`.
        var positions: [String: Int] = [:]
        /// Appends so far, and how many of them are stored.
        var appended = 0
        var written = 0
        var urgent = false
        var wake: CheckedContinuation<Void, Never>?
        /// The loop while it lets a batch gather; a flush cuts that short.
        var urgentWaiter: CheckedContinuation<Void, Never>?
        var flushes: [(upTo: Int, continuation: CheckedContinuation<Void, Never>)] = []
        var loopRunning = false
    }

    private let store: any RunLogStore
    private let state = Mutex(State())
    private let logger: Logger
    /// How long frames may wait to be batched.
    public let interval: Duration
    /// How many frames may wait: a burst beyond is written at once rather than held for the interval.
    public let maxBatchFrames: Int

    /// Runs after each batch is stored (other instances hear of their followed runs' new frames this way).
    private let written: (@Sendable (RunLogBatch) async -> Void)?

    public init(store: any RunLogStore, interval: Duration = .milliseconds(50), maxBatchFrames: Int = 4096, logger: Logger,
                whenWritten: (@Sendable (RunLogBatch) async -> Void)? = nil) {
        self.store = store
        self.written = whenWritten
        self.interval = interval
        self.maxBatchFrames = maxBatchFrames
        self.logger = logger
    }

    /// Logs a new run (before its first frame).
    public func start(_ run: RunRecord) {
        enqueue { $0.batch.started.append(run) }
    }

    /// Logs a frame of run `runId`; frames of one run must be appended in `seq` order.
    public func append(_ frame: RunFrame, to runId: String) {
        enqueue { state in
            if let position = state.positions[runId] {
                state.batch.frames[position].frames.append(frame)
            } else {
                state.positions[runId] = state.batch.frames.count
                state.batch.frames.append((runId, [frame]))
            }
        }
    }

    /// Stores an agent step with the batch it falls in, so the step costs its run no awaited write: it
    /// is durable by the time the frames appended after it are, and a ``flush(urgent:)`` covers it.
    /// The invocation's row must already be stored.
    public func record(_ step: AgentStep) {
        enqueue { $0.batch.steps.append(step) }
    }

    /// Logs that run `runId` has ended (after its last frame).
    public func end(_ runId: String, at date: Date = Timestamp.now()) {
        enqueue { $0.batch.ended.append((runId, date)) }
    }

    private func enqueue(_ change: (inout State) -> Void) {
        let wakers = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            change(&state)
            state.appended += 1
            var wakers = [state.wake].compactMap { $0 }
            state.wake = nil
            if state.appended - state.written >= maxBatchFrames {
                state.urgent = true
                if let waiting = state.urgentWaiter { wakers.append(waiting) }
                state.urgentWaiter = nil
            }
            return wakers
        }
        for waker in wakers { waker.resume() }
    }

    /// Returns once everything appended before the call is stored (or its write failed, which is
    /// logged). `urgent` writes at once; otherwise the caller waits for the batch it is in.
    public func flush(urgent: Bool = true) async {
        enum Action { case done, wait, writeHere }
        let action: Action = state.withLock { state in
            if state.written >= state.appended { return .done }
            return state.loopRunning ? .wait : .writeHere
        }
        switch action {
        case .done:
            return
        case .writeHere:
            // No loop (before it started or after it stopped): the caller writes.
            await writePending()
        case .wait:
            await withCheckedContinuation { continuation in
                let (ready, wakers) = state.withLock { state -> (Bool, [CheckedContinuation<Void, Never>]) in
                    if state.written >= state.appended || !state.loopRunning { return (true, []) }
                    state.flushes.append((state.appended, continuation))
                    guard urgent else { return (false, []) }
                    state.urgent = true
                    defer { state.wake = nil; state.urgentWaiter = nil }
                    return (false, [state.wake, state.urgentWaiter].compactMap { $0 })
                }
                for waker in wakers { waker.resume() }
                if ready { continuation.resume() }
            }
        }
    }

    /// Writes batches until the task is cancelled, then writes what is left and returns.
    public func run() async {
        state.withLock { $0.loopRunning = true }
        while !Task.isCancelled {
            await waitForWork()
            if Task.isCancelled { break }
            // Let a batch gather, unless someone waits for a flush.
            if !state.withLock({ $0.urgent }) { await sleepUnlessUrgent() }
            await writePending()
        }
        let waiters = state.withLock { state in
            state.loopRunning = false
            defer { state.flushes.removeAll() }
            return state.flushes.map(\.continuation)
        }
        await writePending()
        for waiter in waiters { waiter.resume() }
    }

    private func waitForWork() async {
        await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                let now = state.withLock { state -> Bool in
                    if state.appended > state.written || Task.isCancelled { return true }
                    state.wake = continuation
                    return false
                }
                if now { continuation.resume() }
            }
        } onCancel: {
            state.withLock { state in
                defer { state.wake = nil }
                return state.wake
            }?.resume()
        }
    }

    private func sleepUnlessUrgent() async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { try? await Task.sleep(for: self.interval) }
            group.addTask { await self.waitForUrgent() }
            await group.next()
            group.cancelAll()
        }
    }

    private func waitForUrgent() async {
        await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                let now = state.withLock { state -> Bool in
                    if state.urgent || Task.isCancelled { return true }
                    state.urgentWaiter = continuation
                    return false
                }
                if now { continuation.resume() }
            }
        } onCancel: {
            state.withLock { state in
                defer { state.urgentWaiter = nil }
                return state.urgentWaiter
            }?.resume()
        }
    }

    private func writePending() async {
        let (batch, upTo) = state.withLock { state in
            defer {
                state.batch = RunLogBatch()
                state.positions.removeAll(keepingCapacity: true)
                state.urgent = false
            }
            return (state.batch, state.appended)
        }
        var stored = false
        if !batch.isEmpty {
            // Also when the loop is being cancelled (the server stops): GRDB refuses to start work in a
            // cancelled task, and these are the runs' last frames.
            stored = await Self.detachedFromCancellation { [store, logger] in
                do {
                    try await store.write(batch)
                    return true
                } catch {
                    logger.error("writing the run log failed", metadata: [
                        "error": "\(error)", "frames": "\(batch.frameCount)", "runs": "\(batch.frames.count)"])
                    return false
                }
            }
        }
        let done = state.withLock { state in
            state.written = max(state.written, upTo)
            let done = state.flushes.filter { $0.upTo <= state.written }.map(\.continuation)
            state.flushes.removeAll { $0.upTo <= state.written }
            return done
        }
        for waiter in done { waiter.resume() }
        if stored, let written { await ChatPipeline.detachedFromCancellation { await written(batch) } }
    }

    /// ``ChatPipeline/detachedFromCancellation(_:)`` with a result.
    private static func detachedFromCancellation<Result: Sendable>(_ work: @escaping @Sendable () async -> Result) async -> Result {
        guard Task.isCancelled else { return await work() }
        return await Task { await work() }.value
    }
}
