import Synchronization

/// The moment the server stops its runs (PROTOCOL §8, SIGTERM): every generation and agent run in
/// flight is cancelled, stores what it has as `interrupted`, and only then does HTTP drain.
///
/// Run owners execute each run through ``cancellingOnShutdown(stopWhen:_:)``; the shutdown path calls
/// ``trigger()`` and then ``waitUntilIdle(timeout:)`` so nothing is cut before it is stored. A run
/// started after the trigger is cancelled at once. Code that ends a run reads ``isTriggered`` to tell
/// an interruption from a client's cancel.
public final class ShutdownSignal: Sendable {
    private struct State {
        var triggered = false
        var active = 0
        var nextAction = 0
        /// What stops each run executing through ``cancellingOnShutdown(stopWhen:_:)``.
        var actions: [Int: @Sendable () -> Void] = [:]
    }

    private let state = Mutex(State())

    public init() {}

    /// Whether the server is shutting down (its runs are being, or have been, cancelled).
    public var isTriggered: Bool { state.withLock { $0.triggered } }

    /// Runs currently executing through ``cancellingOnShutdown(stopWhen:_:)``.
    public var activeRuns: Int { state.withLock { $0.active } }

    /// Cancels every run in flight and every run started from now on.
    public func trigger() {
        let actions = state.withLock { state -> [@Sendable () -> Void] in
            guard !state.triggered else { return [] }
            state.triggered = true
            defer { state.actions.removeAll() }
            return Array(state.actions.values)
        }
        for action in actions { action() }
    }

    /// Runs `body` to its end, cancelling it when the signal is triggered, when `stopWhen` calls the
    /// action it is given (a client's cancel request), or when the calling task is cancelled; `body`
    /// is expected to store its outcome even when cancelled.
    ///
    /// `body` is the one child task on the way to the work. The three reasons to stop are callbacks
    /// into a ``CancelSignal`` the caller waits on, not tasks waiting beside the body: a run used to cost
    /// four tasks here, each scheduled on the run's way to its first token.
    public func cancellingOnShutdown<Value: Sendable>(
        stopWhen register: ((_ stop: @escaping @Sendable () -> Void) -> Void)? = nil,
        _ body: @escaping @Sendable () async -> Value
    ) async -> Value {
        let stop = CancelSignal()
        let registration = state.withLock { state -> Int? in
            state.active += 1
            guard !state.triggered else { return nil }
            defer { state.nextAction += 1 }
            state.actions[state.nextAction] = { stop.request() }
            return state.nextAction
        }
        defer {
            state.withLock { state in
                state.active -= 1
                if let registration { state.actions.removeValue(forKey: registration) }
            }
        }
        if registration == nil { stop.request() }
        register? { stop.request() }
        return await withTaskGroup(of: Value.self) { group in
            group.addTask {
                let value = await body()
                stop.request()
                return value
            }
            // Returns on any of the three stops, or when the calling task is cancelled.
            await stop.wait()
            // Either the body ended (this is then a no-op) or it must stop and store what it has.
            group.cancelAll()
            // The group has exactly one child, which always returns a value.
            return await group.next()!
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
}
