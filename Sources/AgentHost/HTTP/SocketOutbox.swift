import Foundation
import HummingbirdWebSocket
import Logging
import NIOCore
import NIOWebSocket
import Synchronization

/// A replay the connection's writer pulls, a batch at a time, only when it has written the last
/// one: a `resume` of any length goes out at the client's pace and costs no queued frames.
protocol ReplayCursor: Sendable {
    /// The next frames (at most `max`), serialized. `caughtUp` means the source now delivers the
    /// rest live to the connection's outbox (switched over atomically with the last frames returned),
    /// or has nothing more.
    func pull(max: Int) async -> ReplayBatch
}

/// One pull of a ``ReplayCursor``.
struct ReplayBatch: Sendable {
    var frames: [String]
    var caughtUp: Bool
}

/// The outbound policy of both WebSockets (`ws/chat`, `ws/agent`): live frames are handed over
/// without waiting into a bounded queue, and a connection whose queue overflows is marked too slow
/// (the writer closes it with a resumable 4001) instead of slowing anybody else; replays are pulled
/// by the writer (see ``ReplayCursor``), so they never fill the queue.
final class SocketOutbox: Sendable {
    /// The close code of a connection cut off as too slow; the client reconnects and resumes.
    static let slowConsumerCloseCode = WebSocketErrorCode(codeNumber: 4001)
    /// Frames a writer takes from a replay per pull.
    static let replayBatchSize = 64

    private struct State {
        var live: [String] = []
        var replays: [(id: UUID, cursor: any ReplayCursor)] = []
        var finished = false
        var writer: CheckedContinuation<Void, Never>?
    }

    private let state = Mutex(State())
    private let slow = CancelSignal()
    /// Live frames that may wait for the writer before the connection counts as too slow.
    let limit: Int

    init(limit: Int) {
        self.limit = limit
    }

    /// Queues a serialized frame; returns false (and marks the connection too slow) when the queue is full.
    @discardableResult
    func deliver(text: String) -> Bool {
        enum Outcome { case queued(CheckedContinuation<Void, Never>?), overflow(CheckedContinuation<Void, Never>?), closed }
        let outcome: Outcome = state.withLock { state in
            guard !state.finished else { return .closed }
            guard state.live.count < limit else {
                state.finished = true
                state.live.removeAll()
                state.replays.removeAll()
                defer { state.writer = nil }
                return .overflow(state.writer)
            }
            state.live.append(text)
            defer { state.writer = nil }
            return .queued(state.writer)
        }
        switch outcome {
        case .queued(let writer):
            writer?.resume()
            return true
        case .overflow(let writer):
            slow.request()
            writer?.resume()
            return false
        case .closed:
            return false
        }
    }

    /// Adds a replay for the writer to pull after the live frames queued so far.
    func addReplay(_ cursor: any ReplayCursor) {
        let writer = state.withLock { state -> CheckedContinuation<Void, Never>? in
            guard !state.finished else { return nil }
            state.replays.append((UUID(), cursor))
            defer { state.writer = nil }
            return state.writer
        }
        writer?.resume()
    }

    /// The next frames to write: every queued live frame, else the next batch of a replay; waits
    /// when there is nothing; `nil` once finished (or when the waiting task is cancelled). One writer.
    func next() async -> [String]? {
        enum Step { case frames([String]), pull(UUID, any ReplayCursor), end, wait }
        while !Task.isCancelled {
            let step: Step = state.withLock { state in
                if !state.live.isEmpty {
                    defer { state.live.removeAll(keepingCapacity: true) }
                    return .frames(state.live)
                }
                if state.finished { return .end }
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
                if !batch.frames.isEmpty { return batch.frames }
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
            defer { state.writer = nil }
            return state.writer
        }
        writer?.resume()
    }

    var isTooSlow: Bool { slow.isRequested }

    /// Returns when the connection fell behind (or the waiting task is cancelled).
    func waitUntilTooSlow() async {
        await slow.wait()
    }

    /// Writes this outbox to `outbound` until it finishes, or closes the connection with 4001 when
    /// it falls behind (then throws `CancellationError`). `onSlow` runs once before that close.
    func pump(to outbound: WebSocketOutboundWriter, channel: any Channel, onFrame: @escaping @Sendable () -> Void = {},
              onSlow: @escaping @Sendable () -> Void) async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                while let frames = await self.next() {
                    for frame in frames {
                        try await outbound.writeTextMessage(frame)
                        onFrame()
                    }
                }
            }
            group.addTask {
                await self.waitUntilTooSlow()
                guard !Task.isCancelled else { return }
                onSlow()
                // The close frame may never get through a full socket buffer: then close hard.
                _ = await withTimeout(.seconds(2)) {
                    try? await outbound.close(Self.slowConsumerCloseCode, reason: "Too slow to keep up; reconnect and resume.")
                }
                try? await channel.close()
                throw CancellationError()
            }
            defer { group.cancelAll() }
            try await group.next()
            // The writer also stops when the queue overflows: let the watcher send the 4001 first.
            if isTooSlow { try await group.next() }
        }
    }
}
