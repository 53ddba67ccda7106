import Synchronization

/// A one-shot "stop" request that any number of tasks can wait for: a run's cancel, a connection
/// found too slow, and the stop of each run executing through ``ShutdownSignal``.
package final class CancelSignal: Sendable {
    private struct State {
        var requested = false
        var waiters: [UInt64: CheckedContinuation<Void, Never>] = [:]
        var nextWaiter: UInt64 = 0
        var actions: [@Sendable () -> Void] = []
    }

    private let state = Mutex(State())

    package init() {}

    package var isRequested: Bool { state.withLock { $0.requested } }

    package func request() {
        let (waiters, actions) = state.withLock { state -> ([CheckedContinuation<Void, Never>], [@Sendable () -> Void]) in
            guard !state.requested else { return ([], []) }
            state.requested = true
            defer {
                state.waiters.removeAll()
                state.actions.removeAll()
            }
            return (Array(state.waiters.values), state.actions)
        }
        for waiter in waiters { waiter.resume() }
        for action in actions { action() }
    }

    /// Runs `action` once when stop is requested (at once if it already was), on the requesting
    /// thread: for work that must not wait for a task, such as closing a connection whose writer
    /// is stuck. It must be quick and must not block.
    package func whenRequested(_ action: @escaping @Sendable () -> Void) {
        let now = state.withLock { state in
            if state.requested { return true }
            state.actions.append(action)
            return false
        }
        if now { action() }
    }

    /// Returns when stop is requested, or when the waiting task is cancelled (the others keep waiting).
    package func wait() async {
        let id = state.withLock { state in
            defer { state.nextWaiter += 1 }
            return state.nextWaiter
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                let now = state.withLock { state in
                    if state.requested || Task.isCancelled { return true }
                    state.waiters[id] = continuation
                    return false
                }
                if now { continuation.resume() }
            }
        } onCancel: {
            state.withLock { $0.waiters.removeValue(forKey: id) }?.resume()
        }
    }
}
