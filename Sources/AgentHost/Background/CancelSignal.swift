import Synchronization

/// A one-shot "stop" request that any number of tasks can wait for.
final class CancelSignal: Sendable {
    private let state = Mutex<(requested: Bool, waiters: [CheckedContinuation<Void, Never>])>((false, []))

    var isRequested: Bool { state.withLock { $0.requested } }

    func request() {
        let waiters = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            guard !state.requested else { return [] }
            state.requested = true
            defer { state.waiters.removeAll() }
            return state.waiters
        }
        for waiter in waiters { waiter.resume() }
    }

    /// Returns when stop is requested, or when the waiting task is cancelled.
    func wait() async {
        await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                let now = state.withLock { state in
                    if state.requested || Task.isCancelled { return true }
                    state.waiters.append(continuation)
                    return false
                }
                if now { continuation.resume() }
            }
        } onCancel: {
            let waiters = state.withLock { state in
                defer { state.waiters.removeAll() }
                return state.waiters
            }
            for waiter in waiters { waiter.resume() }
        }
    }
}
