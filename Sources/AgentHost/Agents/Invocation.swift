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
        var subscribers: [UUID: AsyncStream<AgentEvent>.Continuation] = [:]
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
        var cancelWaiters: [CheckedContinuation<Void, Never>] = []
        var cancelRequested = false
        var isFinished = false
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

    /// Appends an event with the next `seq` and sends it to every subscriber.
    @discardableResult
    func emit(_ type: String, _ fields: [String: JSONValue]) -> AgentEvent {
        state.withLock { state in
            let event = AgentEvent(seq: state.events.count, type: type, fields: fields)
            state.events.append(event)
            if type == "tool_call", fields["executor"] == "client", let callId = event.callId {
                state.pendingClientCalls[callId] = event
            }
            for continuation in state.subscribers.values { continuation.yield(event) }
            if event.isTerminal {
                state.isFinished = true
                for continuation in state.subscribers.values { continuation.finish() }
                state.subscribers.removeAll()
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
                state.subscribers[id] = continuation
                state.unwatchedSince = nil
            }
        }
        return (id, stream)
    }

    func unsubscribe(_ id: UUID) {
        let continuation = state.withLock { state in
            let removed = state.subscribers.removeValue(forKey: id)
            if state.subscribers.isEmpty, state.unwatchedSince == nil { state.unwatchedSince = .now }
            return removed
        }
        continuation?.finish()
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
                let cancelled = state.withLock { state in
                    if Task.isCancelled || !state.pendingApprovals.contains(callId) { return true }
                    state.approvalWaiters[callId] = continuation
                    return false
                }
                if cancelled { continuation.resume(returning: .cancelled) }
            }
        } onCancel: {
            state.withLock { state in
                state.pendingApprovals.remove(callId)
                return state.approvalWaiters.removeValue(forKey: callId)
            }?.resume(returning: .cancelled)
        }
    }

    func deliverApproval(callId: String, approved: Bool, reason: String?) throws {
        let waiter = try state.withLock { state -> CheckedContinuation<ApprovalDecision, Never>? in
            guard state.pendingApprovals.remove(callId) != nil else {
                throw APIError.notFound("Pending approval for call '\(callId)' of invocation \(id)")
            }
            guard let waiter = state.approvalWaiters.removeValue(forKey: callId) else {
                throw APIError(.conflict, "The approval of call '\(callId)' is no longer awaited.")
            }
            return waiter
        }
        waiter?.resume(returning: approved ? .approved : .denied(reason: reason))
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
