import ChatBridge
import Foundation
import Logging
import Synchronization
import Tools

/// A run in this process (PROTOCOL §8): a chat generation or an agent invocation, with its frames,
/// who watches it, and how to stop it. The one live-run mechanism of SSE, `ws/chat` and `ws/agent`.
///
/// Producers publish frames: each gets the next `seq`, is serialized once, goes to the log
/// (``RunLogWriter``) and to every live watcher's ``Outbox``. A watcher attaches from any `seq`; its
/// writer pulls the replay at the client's pace and goes live in the same step as the last replayed
/// frame, so nothing is missed or sent twice at the seam. A `Mutex` rather than an actor guards the
/// state so that publishing a token costs no suspension.
final class LiveRun: Sendable {
    let record: RunRecord
    /// The `ws/chat` room of a generation started there (its members watch it; `resume` checks it).
    let room: RoomKey?
    /// The one way to stop a run: whoever owns its task (``RunService``) cancels it on request.
    let cancellation = CancelSignal()
    private let log: RunLogWriter
    private let state: Mutex<State>

    private struct State: ~Copyable {
        var frames: [RunFrame]
        /// Whether the log has heard of this run (a new run's row is logged with its first frame).
        var isRecorded: Bool
        var subscribers: [UUID: Subscriber] = [:]
        /// Since when nobody watches; `nil` while someone does.
        var unwatchedSince: ContinuousClock.Instant? = .now
        /// Requests to the client not yet answered (a client tool call, an approval), by key: sent
        /// again to a connection that resumes from after them.
        var outstanding: [String: RunFrame]
        var isFinished = false
        /// Stopped in this process without ending (``suspend()``): it publishes nothing more here.
        var isSuspended = false
        /// While a frame is being made durable before anyone sees it (``publishDurably(request:_:)``):
        /// the `seq` from which live delivery waits, so watchers still get every frame in order.
        var heldFrom: Int?
        /// Durable publishes still writing; the last to finish releases the held frames.
        var durableWrites = 0
    }

    private struct Subscriber {
        let outbox: Outbox
        /// For a subscriber still pulling its replay: the `seq` of its next frame; `nil` once live.
        var replayNext: Int?
        /// The `after_seq` it resumed from (outstanding requests up to it are sent again).
        let resumedAfter: Int
        /// An SSE stream ends with the run; a socket stays open for other runs.
        let endsWithRun: Bool
        /// The `seq` of the first frame it gets live (earlier ones came with its replay).
        var liveFrom: Int
    }

    /// A new run (logged from its first frame), or one continued from its log after a restart.
    init(record: RunRecord, room: RoomKey? = nil, log: RunLogWriter, restoring frames: [RunFrame] = [],
         outstanding: [String: RunFrame] = [:]) {
        self.record = record
        self.room = room
        self.log = log
        state = Mutex(State(frames: frames, isRecorded: !frames.isEmpty, outstanding: outstanding))
    }

    var id: String { record.id }
    var ownerId: Int64? { record.userId }
    var isFinished: Bool { state.withLock { $0.isFinished } }
    var frameCount: Int { state.withLock { $0.frames.count } }
    /// The `seq` of the latest frame; -1 before the first.
    var lastSeq: Int { state.withLock { $0.frames.count - 1 } }

    // MARK: Publishing

    /// What a published frame does to the outstanding requests.
    enum Request {
        case none
        /// The frame asks the client for something under this key.
        case opens(String)
        /// The frame answers the request under this key.
        case settles(String)

        /// What a logged agent frame did (as ``Invocation/emit(_:)`` decided when it was published).
        init(of frame: RunFrame) {
            switch frame.type {
            case "tool_call", "approval_required", "tool_result":
                guard let object = frame.object, let callId = object["call_id"]?.stringValue else { self = .none; return }
                let opens = frame.type == "approval_required"
                    || (frame.type == "tool_call" && object["executor"]?.stringValue == ToolExecutor.client.rawValue)
                self = opens ? .opens(callId) : .settles(callId)
            default:
                self = .none
            }
        }
    }

    /// Appends the frame `make` builds for the next `seq`, logs it and hands it to every live watcher
    /// (those still pulling a replay get it when they reach it). After a terminal frame the run is
    /// finished and SSE watchers' streams end.
    @discardableResult
    func publish(terminal: Bool = false, request: Request = .none, _ make: (_ seq: Int) -> RunFrame) -> RunFrame {
        state.withLock { state in
            let frame = make(state.frames.count)
            recordIfNew(&state)
            log.append(frame, to: record.id)
            append(frame, request: request, to: &state)
            if terminal {
                log.end(record.id)
                finish(&state)
            }
            return frame
        }
    }

    /// Appends frames another instance published, as read from the log, to a run this process
    /// follows but does not execute (``ClusterPeers/follow(_:)``): watchers get them exactly as
    /// they would a local run's. Frames already here are skipped; `ended` finishes the run after them.
    func mirror(_ logged: [RunFrame], ended: Bool) {
        state.withLock { state in
            guard !state.isFinished else { return }
            for frame in logged where frame.seq == state.frames.count {
                append(frame, request: Request(of: frame), to: &state)
            }
            if ended { finish(&state) }
        }
    }

    private func append(_ frame: RunFrame, request: Request, to state: inout State) {
        state.frames.append(frame)
        switch request {
        case .none: break
        case .opens(let key): state.outstanding[key] = frame
        case .settles(let key): state.outstanding.removeValue(forKey: key)
        }
        guard state.heldFrom == nil else { return }
        for subscriber in state.subscribers.values where subscriber.replayNext == nil {
            subscriber.outbox.deliver(.run(frame))
        }
    }

    /// Publishes a request to the client (a client tool call, an approval request) only once it is
    /// in the log: a client never acts on a request that a crash right after could erase, so a run
    /// it answers is always one that continues after a restart or a takeover (PROTOCOL §8, §9).
    /// Frames published meanwhile wait with it, in order.
    @discardableResult
    func publishDurably(request: Request, _ make: (_ seq: Int) -> RunFrame) async -> RunFrame {
        let frame = state.withLock { state in
            let frame = make(state.frames.count)
            recordIfNew(&state)
            log.append(frame, to: record.id)
            if state.heldFrom == nil { state.heldFrom = frame.seq }
            state.durableWrites += 1
            append(frame, request: request, to: &state)
            return frame
        }
        await log.flush(urgent: true)
        state.withLock { state in
            // Another durable publish may still be writing: the last one to finish releases them all.
            state.durableWrites -= 1
            guard state.durableWrites == 0, let from = state.heldFrom else { return }
            state.heldFrom = nil
            for subscriber in state.subscribers.values where subscriber.replayNext == nil {
                for held in state.frames[from...] where held.seq >= subscriber.liveFrom && held.seq > subscriber.resumedAfter {
                    subscriber.outbox.deliver(.run(held))
                }
            }
            if state.isFinished { finishSubscribers(&state) }
        }
        return frame
    }

    /// After the terminal frame: SSE watchers' streams end, and the run holds no requests.
    private func finish(_ state: inout State) {
        state.isFinished = true
        state.outstanding.removeAll()
        // Held frames are still to go out: the release finishes the streams after them.
        if state.heldFrom == nil { finishSubscribers(&state) }
    }

    private func finishSubscribers(_ state: inout State) {
        for (id, subscriber) in state.subscribers where subscriber.replayNext == nil {
            if subscriber.endsWithRun { subscriber.outbox.finish() }
            state.subscribers.removeValue(forKey: id)
        }
    }

    /// The run stops in this process without ending (it waits on its client across a restart):
    /// streams that end with the run end now, so shutdown need not wait for them; the client picks
    /// the run up again after the restart.
    func suspend() {
        let ending = state.withLock { state -> [Outbox] in
            state.isSuspended = true
            let ending = state.subscribers.values.filter(\.endsWithRun).map(\.outbox)
            state.subscribers = state.subscribers.filter { !$0.value.endsWithRun }
            return ending
        }
        for outbox in ending { outbox.finish() }
    }

    /// Forgets an outstanding request without a frame (the engine gave up on it).
    func settle(_ key: String) {
        _ = state.withLock { $0.outstanding.removeValue(forKey: key) }
    }

    private func recordIfNew(_ state: inout State) {
        guard !state.isRecorded else { return }
        log.start(record)
        state.isRecorded = true
    }

    /// Returns once the run's row is in the log, even before its first frame: other instances
    /// find the run there (PROTOCOL §9).
    func waitUntilRecorded() async {
        state.withLock { recordIfNew(&$0) }
        await log.flush(urgent: true)
    }

    /// Returns once every frame published so far is in the log: written at once when `urgent` (the
    /// run relies on it, as when it starts waiting on its client), else with the batch they are in.
    func waitUntilLogged(urgent: Bool = true) async {
        await log.flush(urgent: urgent)
    }

    // MARK: Watching

    /// Subscribes `outbox` from `afterSeq`: its writer pulls the replay, then the outstanding
    /// requests it already saw (sent again), then gets live frames until the run ends. A new attach
    /// of the same outbox replaces its previous subscription.
    @discardableResult
    func attach(_ outbox: Outbox, after afterSeq: Int, endsWithRun: Bool = false) -> UUID {
        let id = UUID.random()
        let replays = state.withLock { state -> Bool in
            for (previous, subscriber) in state.subscribers where subscriber.outbox === outbox {
                state.subscribers.removeValue(forKey: previous)
            }
            state.unwatchedSince = nil
            // `after_seq` comes from clients, any Int: Int.max replays nothing rather than overflowing.
            let next = afterSeq == .max ? afterSeq : max(afterSeq + 1, 0)
            // Nothing to replay (a watcher from the start of a new run): live at once.
            // A stream that ends with the run gets the frames so far from a suspended one, then ends:
            // nothing more is published here, and it would wait for ever.
            if next >= state.frames.count, !state.outstanding.values.contains(where: { $0.seq <= afterSeq }), !state.isFinished,
               !(state.isSuspended && endsWithRun) {
                state.subscribers[id] = Subscriber(outbox: outbox, replayNext: nil, resumedAfter: afterSeq, endsWithRun: endsWithRun,
                                                   liveFrom: state.frames.count)
                return false
            }
            state.subscribers[id] = Subscriber(outbox: outbox, replayNext: next, resumedAfter: afterSeq, endsWithRun: endsWithRun,
                                               liveFrom: .max)
            return true
        }
        if replays { outbox.addReplay(Replay(run: self, subscription: id)) }
        return id
    }

    /// Whether `outbox` is subscribed (live or replaying).
    func isWatched(by outbox: Outbox) -> Bool {
        state.withLock { state in state.subscribers.values.contains { $0.outbox === outbox } }
    }

    func detach(_ id: UUID) {
        state.withLock { state in
            state.subscribers.removeValue(forKey: id)
            if state.subscribers.isEmpty, state.unwatchedSince == nil { state.unwatchedSince = .now }
        }
    }

    /// Detaches every subscription of `outbox` (its connection closed).
    func detach(_ outbox: Outbox) {
        state.withLock { state in
            for (id, subscriber) in state.subscribers where subscriber.outbox === outbox {
                state.subscribers.removeValue(forKey: id)
            }
            if state.subscribers.isEmpty, state.unwatchedSince == nil { state.unwatchedSince = .now }
        }
    }

    /// Whether nobody has watched the run for at least `grace`.
    func isAbandoned(grace: Duration) -> Bool {
        state.withLock { state in
            guard let since = state.unwatchedSince else { return false }
            return since.duration(to: .now) >= grace
        }
    }

    /// Every frame so far.
    var frames: [RunFrame] { state.withLock { $0.frames } }

    /// The next replayed frames of a subscription; with the last ones it goes live in the same
    /// step, so nothing is missed or sent twice at the seam.
    fileprivate func pullReplay(subscription id: UUID, max: Int) -> ReplayBatch {
        let (batch, finishedOutbox) = state.withLock { state -> (ReplayBatch, Outbox?) in
            guard var subscriber = state.subscribers[id], let next = subscriber.replayNext else {
                return (ReplayBatch(frames: [], caughtUp: true), nil)
            }
            // Frames held until they are durable (``publishDurably``) are not replayed either: a
            // subscriber that reaches them goes live and gets them when they are released.
            let available = state.heldFrom ?? state.frames.count
            let start = min(next, state.frames.count)
            let end = Swift.max(start, min(start + max, available))
            var frames = Array(state.frames[start..<end])
            guard end >= available else {
                subscriber.replayNext = end
                state.subscribers[id] = subscriber
                return (ReplayBatch(frames: frames, caughtUp: false), nil)
            }
            frames += state.outstanding.values.filter { $0.seq <= subscriber.resumedAfter && $0.seq < available }
                .sorted { $0.seq < $1.seq }
            if state.isFinished || (state.isSuspended && subscriber.endsWithRun), state.heldFrom == nil {
                state.subscribers.removeValue(forKey: id)
                return (ReplayBatch(frames: frames, caughtUp: true), subscriber.endsWithRun ? subscriber.outbox : nil)
            }
            subscriber.replayNext = nil
            subscriber.liveFrom = end
            state.subscribers[id] = subscriber
            return (ReplayBatch(frames: frames, caughtUp: true), nil)
        }
        // A stream that ends with the run ends after these last frames (the writer has them in hand).
        finishedOutbox?.finish()
        return batch
    }
}

/// A subscription's replay of a live run, pulled by the connection's writer.
private struct Replay: ReplayCursor {
    let run: LiveRun
    let subscription: UUID

    func pull(max: Int) async -> ReplayBatch {
        run.pullReplay(subscription: subscription, max: max)
    }
}

/// A replay of a run that is no longer in memory (it ended, or it ran before a restart), read from
/// the log a page at a time, into `outbox`.
final class StoredReplay: ReplayCursor {
    let store: any RunLogStore
    let runId: String
    /// Where a failed read is reported, with the frame fields that name the run (`chat_id`, `invocation_id`).
    private let outbox: Outbox
    private let ids: [String: JSONValue]
    private let logger: Logger
    private let position: Mutex<Int>

    init(store: any RunLogStore, runId: String, after afterSeq: Int, into outbox: Outbox, ids: [String: JSONValue], logger: Logger) {
        self.store = store
        self.runId = runId
        self.outbox = outbox
        self.ids = ids
        self.logger = logger
        position = Mutex(afterSeq)
    }

    func pull(max: Int) async -> ReplayBatch {
        let after = position.withLock { $0 }
        let frames: [RunFrame]
        do {
            frames = try await store.frames(ofRun: runId, after: after, limit: max)
        } catch {
            // The replay stops here; the client learns that it did and where to resume from, instead of
            // taking the frames so far for the whole run.
            logger.error("reading a run's log for a replay failed", metadata: ["run_id": "\(runId)", "error": "\(error)"])
            outbox.deliver(APIError(.internal, "Reading the run's log failed after seq \(after); resume again with after_seq \(after).")
                .frame(ids.merging(["after_seq": .int(after)]) { $1 }))
            return ReplayBatch(frames: [], caughtUp: true)
        }
        if let last = frames.last { position.withLock { $0 = last.seq } }
        return ReplayBatch(frames: frames, caughtUp: frames.count < max)
    }
}
