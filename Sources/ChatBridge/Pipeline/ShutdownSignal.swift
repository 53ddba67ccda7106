import Synchronization

/// The moment the server stops its runs (PROTOCOL §8, SIGTERM): every generation and agent run in
/// flight is cancelled, stores what it has as `interrupted`, and only then does HTTP drain.
///
/// Run owners execute each run through ``cancellingOnShutdown(_:)``; the shutdown path calls
/// ``trigger()`` and then ``waitUntilIdle(timeout:)`` so nothing is cut before it is stored. A run
/// started after the trigger is cancelled at once. Code that ends a run reads ``isTriggered`` to tell
/// an interruption from a client's cancel.
public final class ShutdownSignal: Sendable {
    private struct State {
        var triggered = false
        var active = 0
        var nextWaiter = 0
        var waiters: [Int: CheckedContinuation<Void, Never>] = [:]
    }

    private let state = Mutex(State())

    public init() {}

    /// Whether the server is shutting down (its runs are being, or have been, cancelled).
    public var isTriggered: Bool { state.withLock { $0.triggered } }

    /// Runs currently executing through ``cancellingOnShutdown(_:)``.
    public var activeRuns: Int { state.withLock { $0.active } }

    /// Cancels every run in flight and every run started from now on.
    public func trigger() {
        let waiters = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            guard !state.triggered else { return [] }
            state.triggered = true
            defer { state.waiters.removeAll() }
            return Array(state.waiters.values)
        }
        for waiter in waiters { waiter.resume() }
    }

    /// Runs `body` to its end, cancelling it when the signal is triggered, when `stop` returns (a
    /// client's cancel request), or when the calling task is cancelled; `body` is expected to store
    /// its outcome even when cancelled. `body` is the one child task on the way to the work.
    public func cancellingOnShutdown<Value: Sendable>(
        orWhen stop: (@Sendable () async -> Void)? = nil, _ body: @escaping @Sendable () async -> Value
    ) async -> Value {
        state.withLock { $0.active += 1 }
        defer { state.withLock { $0.active -= 1 } }
        return await withTaskGroup(of: Value?.self) { group in
            group.addTask { await body() }
            group.addTask {
                guard let stop else {
                    await self.wait()
                    return nil
                }
                // Whichever comes first; the loser is cancelled with this group.
                await withTaskGroup(of: Void.self) { either in
                    either.addTask { await self.wait() }
                    either.addTask { await stop() }
                    await either.next()
                    either.cancelAll()
                }
                return nil
            }
            var result: Value?
            while result == nil, let next = await group.next() {
                if let next {
                    result = next
                } else {
                    // Shutdown: cancel the run and keep waiting for it to store what it has.
                    group.cancelAll()
                }
            }
            group.cancelAll()
            // The body's child always returns a value, so the loop ends with one.
            return result!
        }
    }

    /// Returns once no run is active, or when `timeout` passed; `true` when idle.
    @discardableResult
    public func waitUntilIdle(timeout: Duration) async -> Bool {
        let deadline = ContinuousClock.now + timeout
        while activeRuns > 0 {
            guard ContinuousClock.now < deadline else { return false }
            try? await Task.sleep(for: .milliseconds(10))
        }
        return true
    }

    /// Returns when the signal is triggered, or when the waiting task is cancelled.
    private func wait() async {
        let id = state.withLock { state -> Int in
            defer { state.nextWaiter += 1 }
            return state.nextWaiter
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                let now = state.withLock { state in
                    if state.triggered || Task.isCancelled { return true }
                    state.waiters[id] = continuation
                    return false
                }
                if now { continuation.resume() }
            }
        } onCancel: {
            let waiter = state.withLock { $0.waiters.removeValue(forKey: id) }
            waiter?.resume()
        }
    }
}
