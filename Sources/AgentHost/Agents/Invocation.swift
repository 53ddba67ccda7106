import ChatBridge
import Foundation
import Synchronization
import Tools

/// An agent run's dealings with its client: the run (``LiveRun``: frames, watchers, cancel) plus
/// the client tool results and approvals the engine waits for.
///
/// Results, approvals and cancel requests are delivered here and resume the engine. A `Mutex`
/// rather than an actor guards the state so that task-cancellation handlers, which must be
/// synchronous, can resume waiters directly.
final class Invocation: Sendable {
    let run: LiveRun
    let workspaceSlug: String
    private let state: Mutex<State>

    private struct State: ~Copyable {
        var resultWaiters: [String: CheckedContinuation<ToolOutcome, Never>] = [:]
        /// Client calls sent and not yet answered.
        var pendingClientCalls: Set<String>
        /// Results that arrived before the engine started waiting for them.
        var earlyResults: [String: ToolOutcome] = [:]
        var closedCalls: Set<String> = []
        var approvalWaiters: [String: CheckedContinuation<ApprovalDecision, Never>] = [:]
        var pendingApprovals: Set<String>
        /// Decisions that arrived before the engine started waiting for them (kept like early results).
        var earlyApprovals: [String: ApprovalDecision] = [:]
    }

    /// `pendingClientCalls` and `pendingApprovals` are those of a run continued after a restart.
    init(run: LiveRun, workspaceSlug: String, pendingClientCalls: Set<String> = [], pendingApprovals: Set<String> = []) {
        self.run = run
        self.workspaceSlug = workspaceSlug
        state = Mutex(State(pendingClientCalls: pendingClientCalls, pendingApprovals: pendingApprovals))
    }

    var id: String { run.id }
    var ownerId: Int64? { run.ownerId }
    var isFinished: Bool { run.isFinished }

    /// Publishes an event of the run. A client tool call or an approval request stays outstanding
    /// (sent again on `resume`) until its result.
    @discardableResult
    func emit(_ event: AgentEvent) -> RunFrame {
        let request: LiveRun.Request
        switch event {
        case .toolCall(let call) where call.executor == ToolExecutor.client.rawValue:
            // Accepted from the moment it can be seen: a client may answer before the engine waits.
            state.withLock { _ = $0.pendingClientCalls.insert(call.callId) }
            request = .opens(call.callId)
        case .toolCall(let call):
            request = .settles(call.callId)
        case .approvalRequired(let call):
            request = .opens(call.callId)
        case .toolResult(let result):
            request = .settles(result.callId)
        default:
            request = .none
        }
        let id = id
        return run.publish(terminal: event.isTerminal, request: request) { seq in event.frame(invocationId: id, seq: seq) }
    }

    /// Publishes a request the client must answer (a client `tool_call`, an `approval_required`)
    /// once it is in the run log, so the wait it starts survives a crash (see ``LiveRun/publishDurably(request:_:)``).
    func ask(_ event: AgentEvent) async {
        let callId: String
        switch event {
        case .toolCall(let call):
            state.withLock { _ = $0.pendingClientCalls.insert(call.callId) }
            callId = call.callId
        case .approvalRequired(let call):
            callId = call.callId
        default:
            emit(event)
            return
        }
        let id = id
        await run.publishDurably(request: .opens(callId)) { seq in event.frame(invocationId: id, seq: seq) }
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
            state.pendingClientCalls.remove(callId)
            state.closedCalls.insert(callId)
            return state.resultWaiters.removeValue(forKey: callId)
        }
        run.settle(callId)
        waiter?.resume(returning: .cancelled)
    }

    /// Delivers a client's result. Throws for an unknown, already answered or expired call.
    func deliverResult(callId: String, output: JSONValue, isError: Bool) throws {
        let outcome = ToolOutcome.answered(output: output, isError: isError)
        let waiter = try state.withLock { state -> CheckedContinuation<ToolOutcome, Never>? in
            if state.closedCalls.contains(callId) {
                throw APIError(.conflict, "Tool call '\(callId)' was already answered or has timed out.")
            }
            guard state.pendingClientCalls.remove(callId) != nil else {
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

    /// The client's `cancel`: the run stops and ends `cancelled`.
    func requestCancel() {
        run.cancellation.request()
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
