import ChatBridge
import Foundation
import Synchronization
import Tools

/// The live state of one agent run: its ordered event log, who is watching, and what it waits for.
///
/// The engine appends events; connections subscribe from any `seq` and receive the replay followed
/// by live events. Client tool results, approvals and cancel requests are delivered here and resume
/// the engine. A `Mutex` rather than an actor guards the state so that task-cancellation handlers,
/// which must be synchronous, can resume waiters directly.
final class Invocation: Sendable {
    let id: String
    let ownerId: Int64?
    let workspaceSlug: String
    private let state: Mutex<State>

    private struct State: ~Copyable {
        var events: [AgentEvent] = []
        var subscribers: [UUID: Subscriber] = [:]
        /// Since when nobody watches; `nil` while someone does.
        var unwatchedSince: ContinuousClock.Instant? = .now
        var resultWaiters: [String: CheckedContinuation<ToolOutcome, Never>] = [:]
        /// Client calls sent and not yet answered, with their `tool_call` event (re-sent on resume).
        var pendingClientCalls: [String: AgentEvent] = [:]
        /// Results that arrived before the engine started waiting for them.
        var earlyResults: [String: ToolOutcome] = [:]
        var closedCalls: Set<String> = []
        var approvalWaiters: [String: CheckedContinuation<ApprovalDecision, Never>] = [:]
        var pendingApprovals: Set<String> = []
        /// Decisions that arrived before the engine started waiting for them (kept like early results).
        var earlyApprovals: [String: ApprovalDecision] = [:]
        var cancelWaiters: [CheckedContinuation<Void, Never>] = []
        var cancelRequested = false
        var isFinished = false
    }

    /// Who watches the run: an SSE stream, or a WebSocket's outbox whose writer first pulls the replay.
    private struct Subscriber {
        enum Sink {
            case stream(AsyncStream<AgentEvent>.Continuation)
            case outbox(SocketOutbox)
        }

        var sink: Sink
        /// For an outbox still pulling its replay: the `seq` of its next event; `nil` once live.
        var replayNext: Int?
        /// The `after_seq` it resumed from (pending client calls up to it are sent again).
        var resumedAfter: Int
    }

    init(id: String, ownerId: Int64?, workspaceSlug: String) {
        self.id = id
        self.ownerId = ownerId
        self.workspaceSlug = workspaceSlug
        state = Mutex(State())
    }

    var isFinished: Bool { state.withLock { $0.isFinished } }
    var cancelRequested: Bool { state.withLock { $0.cancelRequested } }
    var eventCount: Int { state.withLock { $0.events.count } }

    // MARK: Event log

    /// Appends an event with the next `seq` and sends it to every live subscriber (those still
    /// pulling a replay get it when they reach it).
    @discardableResult
    func emit(_ type: String, _ fields: [String: JSONValue]) -> AgentEvent {
        state.withLock { state in
            let event = AgentEvent(seq: state.events.count, type: type, fields: fields)
            state.events.append(event)
            if type == "tool_call", fields["executor"] == "client", let callId = event.callId {
                state.pendingClientCalls[callId] = event
            }
            var text: String?
            for subscriber in state.subscribers.values where subscriber.replayNext == nil {
                switch subscriber.sink {
                case .stream(let continuation):
                    continuation.yield(event)
                case .outbox(let outbox):
                    // Serialized once for every socket watching.
                    let serialized = text ?? event.json(invocationId: id).serializedString
                    text = serialized
                    outbox.deliver(text: serialized)
                }
            }
            if event.isTerminal {
                state.isFinished = true
                for (subscriptionId, subscriber) in state.subscribers where subscriber.replayNext == nil {
                    if case .stream(let continuation) = subscriber.sink { continuation.finish() }
                    state.subscribers.removeValue(forKey: subscriptionId)
                }
            }
            return event
        }
    }

    /// Every event after `afterSeq`, then pending client calls the subscriber already saw (sent
    /// again), then live events until the run ends.
    func subscribe(after afterSeq: Int) -> (id: UUID, stream: AsyncStream<AgentEvent>) {
        let id = UUID()
        let (stream, continuation) = AsyncStream<AgentEvent>.makeStream()
        state.withLock { state in
            for event in state.events where event.seq > afterSeq { continuation.yield(event) }
            for event in state.pendingClientCalls.values.sorted(by: { $0.seq < $1.seq }) where event.seq <= afterSeq {
                continuation.yield(event)
            }
            if state.isFinished {
                continuation.finish()
            } else {
                state.subscribers[id] = Subscriber(sink: .stream(continuation), replayNext: nil, resumedAfter: afterSeq)
                state.unwatchedSince = nil
            }
        }
        return (id, stream)
    }

    /// Subscribes a WebSocket's outbox from `afterSeq`: its writer pulls the replay (then the pending
    /// client calls it already saw, sent again) at the client's pace, then gets live events.
    func attach(_ outbox: SocketOutbox, after afterSeq: Int) -> UUID {
        let id = UUID()
        state.withLock { state in
            state.subscribers[id] = Subscriber(sink: .outbox(outbox), replayNext: max(afterSeq + 1, 0), resumedAfter: afterSeq)
            state.unwatchedSince = nil
        }
        outbox.addReplay(InvocationReplay(invocation: self, subscription: id))
        return id
    }

    /// The next replayed frames of an ``attach(_:after:)`` subscription; with the last ones it
    /// goes live in the same step, so nothing is missed or sent twice at the seam.
    fileprivate func pullReplay(subscription id: UUID, max: Int) -> ReplayBatch {
        state.withLock { state in
            guard var subscriber = state.subscribers[id], let next = subscriber.replayNext else {
                return ReplayBatch(frames: [], caughtUp: true)
            }
            let start = min(next, state.events.count)
            let end = min(start + max, state.events.count)
            var frames = state.events[start..<end].map { $0.json(invocationId: self.id).serializedString }
            guard end == state.events.count else {
                subscriber.replayNext = end
                state.subscribers[id] = subscriber
                return ReplayBatch(frames: frames, caughtUp: false)
            }
            for event in state.pendingClientCalls.values.sorted(by: { $0.seq < $1.seq }) where event.seq <= subscriber.resumedAfter {
                frames.append(event.json(invocationId: self.id).serializedString)
            }
            if state.isFinished {
                state.subscribers.removeValue(forKey: id)
            } else {
                subscriber.replayNext = nil
                state.subscribers[id] = subscriber
            }
            return ReplayBatch(frames: frames, caughtUp: true)
        }
    }

    func unsubscribe(_ id: UUID) {
        let removed = state.withLock { state in
            let removed = state.subscribers.removeValue(forKey: id)
            if state.subscribers.isEmpty, state.unwatchedSince == nil { state.unwatchedSince = .now }
            return removed
        }
        if case .stream(let continuation)? = removed?.sink { continuation.finish() }
    }

    /// Whether nobody has watched the run for at least `grace`.
    func isAbandoned(grace: Duration) -> Bool {
        state.withLock { state in
            guard let since = state.unwatchedSince else { return false }
            return since.duration(to: .now) >= grace
        }
    }

    func events(after afterSeq: Int) -> [AgentEvent] {
        state.withLock { $0.events.filter { $0.seq > afterSeq } }
    }

    // MARK: Client tool results

    /// Suspends until the client answers `callId`; `.cancelled` if the waiting task is cancelled.
    func awaitResult(callId: String) async -> ToolOutcome {
        await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                let immediate: ToolOutcome? = state.withLock { state in
                    if let early = state.earlyResults.removeValue(forKey: callId) { return early }
                    if Task.isCancelled { return .cancelled }
                    state.resultWaiters[callId] = continuation
                    return nil
                }
                if let immediate { continuation.resume(returning: immediate) }
            }
        } onCancel: {
            state.withLock { $0.resultWaiters.removeValue(forKey: callId) }?.resume(returning: .cancelled)
        }
    }

    /// The engine gave up on a call (timeout or cancel): later results for it are refused.
    func closeCall(_ callId: String) {
        let waiter = state.withLock { state in
            state.pendingClientCalls.removeValue(forKey: callId)
            state.closedCalls.insert(callId)
            return state.resultWaiters.removeValue(forKey: callId)
        }
        waiter?.resume(returning: .cancelled)
    }

    /// Delivers a client's result. Throws for an unknown, already answered or expired call.
    func deliverResult(callId: String, output: JSONValue, isError: Bool) throws {
        let outcome = ToolOutcome.answered(output: output, isError: isError)
        let waiter = try state.withLock { state -> CheckedContinuation<ToolOutcome, Never>? in
            if state.closedCalls.contains(callId) {
                throw APIError(.conflict, "Tool call '\(callId)' was already answered or has timed out.")
            }
            guard state.pendingClientCalls.removeValue(forKey: callId) != nil else {
                throw APIError.notFound("Pending client tool call '\(callId)' of invocation \(id)")
            }
            state.closedCalls.insert(callId)
            guard let waiter = state.resultWaiters.removeValue(forKey: callId) else {
                state.earlyResults[callId] = outcome
                return nil
            }
            return waiter
        }
        waiter?.resume(returning: outcome)
    }

    // MARK: Approvals

    /// Marks `callId` as awaiting approval (before `approval_required` is sent, so an instant answer is not lost).
    func expectApproval(callId: String) {
        state.withLock { _ = $0.pendingApprovals.insert(callId) }
    }

    func awaitApproval(callId: String) async -> ApprovalDecision {
        await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                let immediate: ApprovalDecision? = state.withLock { state in
                    if let early = state.earlyApprovals.removeValue(forKey: callId) { return early }
                    if Task.isCancelled || !state.pendingApprovals.contains(callId) { return .cancelled }
                    state.approvalWaiters[callId] = continuation
                    return nil
                }
                if let immediate { continuation.resume(returning: immediate) }
            }
        } onCancel: {
            state.withLock { state in
                state.pendingApprovals.remove(callId)
                return state.approvalWaiters.removeValue(forKey: callId)
            }?.resume(returning: .cancelled)
        }
    }

    /// Delivers the user's decision. One that arrives before the engine waits for it (the client
    /// answered `approval_required` faster than the engine got to waiting) is kept for it.
    func deliverApproval(callId: String, approved: Bool, reason: String?) throws {
        let decision: ApprovalDecision = approved ? .approved : .denied(reason: reason)
        let waiter = try state.withLock { state -> CheckedContinuation<ApprovalDecision, Never>? in
            guard state.pendingApprovals.remove(callId) != nil else {
                throw APIError.notFound("Pending approval for call '\(callId)' of invocation \(id)")
            }
            guard let waiter = state.approvalWaiters.removeValue(forKey: callId) else {
                state.earlyApprovals[callId] = decision
                return nil
            }
            return waiter
        }
        waiter?.resume(returning: decision)
    }

    // MARK: Cancel

    func requestCancel() {
        let waiters = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            guard !state.cancelRequested else { return [] }
            state.cancelRequested = true
            defer { state.cancelWaiters.removeAll() }
            return state.cancelWaiters
        }
        for waiter in waiters { waiter.resume() }
    }

    /// Returns when a cancel is requested (or the waiting task is cancelled).
    func waitForCancelRequest() async {
        await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                let now = state.withLock { state in
                    if state.cancelRequested || Task.isCancelled { return true }
                    state.cancelWaiters.append(continuation)
                    return false
                }
                if now { continuation.resume() }
            }
        } onCancel: {
            let waiters = state.withLock { state in
                defer { state.cancelWaiters.removeAll() }
                return state.cancelWaiters
            }
            for waiter in waiters { waiter.resume() }
        }
    }
}

/// An outbox's replay of an invocation, pulled by the connection's writer.
private struct InvocationReplay: ReplayCursor {
    let invocation: Invocation
    let subscription: UUID

    func pull(max: Int) async -> ReplayBatch {
        invocation.pullReplay(subscription: subscription, max: max)
    }
}

/// How waiting for a client tool call ended.
enum ToolOutcome: Sendable, Equatable {
    case answered(output: JSONValue, isError: Bool)
    case cancelled
}

enum ApprovalDecision: Sendable, Equatable {
    case approved
    case denied(reason: String?)
    case cancelled
}
