import CoreMetrics
import Synchronization

/// The concurrency limit of one provider and the fair queue in front of it (PROTOCOL §4 queuing).
///
/// A request takes a ``QueueTicket`` with ``reserve(_:)`` before its stream starts (a full queue
/// refuses it there, so the transport can still answer `503`), then waits for a slot with
/// ``QueueTicket/stream(_:from:onPosition:onTick:)`` and gives the slot back with ``QueueTicket/release()``.
/// Waiting requests are served agent steps first, then round-robin across users (``FairLine``).
public final class ProviderQueue: Sendable {
    /// The provider kind, as in metrics and error messages.
    public let provider: String
    /// Concurrent upstream requests allowed; `nil` is unlimited (requests then wait only while the
    /// upstream asked for a pause).
    public let limit: Int?
    let maxWaiting: Int
    let timeout: Duration
    /// Position updates are sent at most this often (PROTOCOL §4: at most once a second).
    let positionInterval: Duration
    /// How often a waiter wakes up: to notice the end of an upstream pause, to send a late position
    /// update, and to let its transport probe whether the client is still there.
    var tickInterval: Duration { min(positionInterval, .milliseconds(250)) }

    private let state = Mutex(State())
    private let depthGauge: Gauge
    private let runningGauge: Gauge
    private let waitTimer: CoreMetrics.Timer
    private let factory: any MetricsFactory

    struct Waiter {
        let user: String
        let priority: QueuePriority
        let signal: AsyncStream<Void>.Continuation
        var granted = false
    }

    struct State {
        var running = 0
        var nextId: UInt64 = 0
        var agentLine = FairLine()
        var chatLine = FairLine()
        var waiters: [UInt64: Waiter] = [:]
        var pausedUntil: ContinuousClock.Instant?
        /// A moving average of how long a request holds its slot, for `retry_after` estimates.
        var meanHoldSeconds = 1.0
        var positions: [UInt64: Int] = [:]
        var positionsStale = false

        var waiting: Int { agentLine.count + chatLine.count }

        func isPaused(at now: ContinuousClock.Instant) -> Bool { pausedUntil.map { $0 > now } ?? false }
    }

    public init(provider: String, limit: Int?, maxWaiting: Int, timeout: Duration,
                positionInterval: Duration = .seconds(1), metrics: any MetricsFactory = NOOPMetricsHandler.instance) {
        self.provider = provider
        self.limit = limit.map { max(1, $0) }
        self.maxWaiting = max(0, maxWaiting)
        self.timeout = timeout
        self.positionInterval = positionInterval
        self.factory = metrics
        depthGauge = Gauge(label: "agenthost_queue_depth", dimensions: [("provider", provider)], factory: metrics)
        runningGauge = Gauge(label: "agenthost_upstream_in_flight", dimensions: [("provider", provider)], factory: metrics)
        waitTimer = CoreMetrics.Timer(label: "agenthost_queue_wait_seconds", dimensions: [("provider", provider)], factory: metrics)
    }

    /// Requests waiting for a slot now.
    public var depth: Int { state.withLock { $0.waiting } }
    /// Requests holding a slot now.
    public var inFlight: Int { state.withLock { $0.running } }

    /// Takes a place: a slot at once when one is free and nobody waits, else a place in line.
    /// Throws `overloaded` when `maxWaiting` requests already wait.
    public func reserve(_ claim: QueueClaim) throws -> QueueTicket {
        let now = ContinuousClock.now
        let outcome: Result<(UInt64, AsyncStream<Void>?, Int), APIError> = state.withLock { state in
            let id = state.nextId
            state.nextId += 1
            if !state.isPaused(at: now), state.waiting == 0, limit.map({ state.running < $0 }) ?? true {
                state.running += 1
                return .success((id, nil, state.running))
            }
            // A running agent's next step is never refused: the run already holds its user's attention
            // and goes ahead of every waiting chat anyway.
            guard claim.priority == .agentStep || state.waiting < maxWaiting else {
                return .failure(.overloaded(
                    "The \(provider) provider's queue is full (\(maxWaiting) requests waiting); try again later.",
                    retryAfter: estimatedWait(state, now: now)))
            }
            let (stream, continuation) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
            state.waiters[id] = Waiter(user: claim.user, priority: claim.priority, signal: continuation)
            switch claim.priority {
            case .agentStep: state.agentLine.append(id, user: claim.user)
            case .chat: state.chatLine.append(id, user: claim.user)
            }
            state.positionsStale = true
            return .success((id, stream, state.waiting))
        }
        switch outcome {
        case .success(let (id, stream, count)):
            if stream == nil {
                runningGauge.record(count)
                waitTimer.recordNanoseconds(0)
            } else {
                depthGauge.record(count)
            }
            return QueueTicket(queue: self, id: id, signal: stream)
        case .failure(let error):
            Counter(label: "agenthost_queue_refused_total", dimensions: [("provider", provider), ("reason", "full")],
                    factory: factory).increment()
            throw error
        }
    }

    /// Whether a new request would be refused now (checked before a chat's prompt is stored).
    public func checkAdmission() throws {
        let now = ContinuousClock.now
        let refusal: APIError? = state.withLock { state in
            let wouldWait = state.isPaused(at: now) || state.waiting > 0 || !(limit.map { state.running < $0 } ?? true)
            guard wouldWait, state.waiting >= maxWaiting else { return nil }
            return .overloaded("The \(provider) provider's queue is full (\(maxWaiting) requests waiting); try again later.",
                               retryAfter: estimatedWait(state, now: now))
        }
        if let refusal {
            Counter(label: "agenthost_queue_refused_total", dimensions: [("provider", provider), ("reason", "full")],
                    factory: factory).increment()
            throw refusal
        }
    }

    /// Stops granting slots for `duration` (the upstream said `Retry-After`).
    public func pause(for duration: Duration) {
        let until = ContinuousClock.now + duration
        state.withLock { state in
            state.pausedUntil = max(state.pausedUntil ?? until, until)
        }
    }

    // MARK: Ticket support

    func isGranted(_ id: UInt64) -> Bool {
        state.withLock { $0.waiters[id]?.granted ?? false }
    }

    /// The 1-based place of a waiting request among those served before it (agent steps first).
    func position(of id: UInt64) -> Int? {
        state.withLock { state in
            if state.positionsStale {
                state.positions.removeAll(keepingCapacity: true)
                for (index, waiting) in (state.agentLine.serviceOrder() + state.chatLine.serviceOrder()).enumerated() {
                    state.positions[waiting] = index + 1
                }
                state.positionsStale = false
            }
            return state.positions[id]
        }
    }

    /// Wakes a waiter so it can report its position.
    func poke(_ id: UInt64) {
        _ = state.withLock { $0.waiters[id]?.signal.yield() }
    }

    /// The waiter got its slot: it no longer needs its place.
    func settle(_ id: UInt64, waited: Duration) {
        state.withLock { state in
            state.waiters.removeValue(forKey: id)?.signal.finish()
        }
        waitTimer.recordNanoseconds(waited.nanoseconds)
    }

    /// A waiter left (cancelled, disconnected, timed out): out of line at once, or, if the slot was
    /// granted in the meantime, the slot goes to the next.
    func leave(_ id: UInt64) {
        let (wasGranted, count) = state.withLock { state -> (Bool, Int) in
            guard let waiter = state.waiters.removeValue(forKey: id) else { return (false, state.waiting) }
            waiter.signal.finish()
            if !waiter.granted {
                switch waiter.priority {
                case .agentStep: _ = state.agentLine.remove(id, user: waiter.user)
                case .chat: _ = state.chatLine.remove(id, user: waiter.user)
                }
                state.positionsStale = true
            }
            return (waiter.granted, state.waiting)
        }
        depthGauge.record(count)
        if wasGranted { release(held: .zero) } else { dispatch() }
    }

    /// A slot is free again.
    func release(held: Duration) {
        let running = state.withLock { state in
            state.running -= 1
            if held > .zero { state.meanHoldSeconds = state.meanHoldSeconds * 0.8 + held.milliseconds / 1000 * 0.2 }
            return state.running
        }
        runningGauge.record(running)
        dispatch()
    }

    /// Grants free slots to the waiters next in line, unless the provider asked for a pause.
    func dispatch() {
        let now = ContinuousClock.now
        let (granted, waiting, running) = state.withLock { state -> ([AsyncStream<Void>.Continuation], Int, Int) in
            var granted: [AsyncStream<Void>.Continuation] = []
            guard !state.isPaused(at: now) else { return (granted, state.waiting, state.running) }
            while limit.map({ state.running < $0 }) ?? true,
                  let id = state.agentLine.popNext() ?? state.chatLine.popNext() {
                state.running += 1
                state.waiters[id]?.granted = true
                if let signal = state.waiters[id]?.signal { granted.append(signal) }
                state.positionsStale = true
            }
            return (granted, state.waiting, state.running)
        }
        for signal in granted { signal.yield() }
        if !granted.isEmpty {
            depthGauge.record(waiting)
            runningGauge.record(running)
        }
    }

    func timedOut() -> APIError {
        Counter(label: "agenthost_queue_refused_total", dimensions: [("provider", provider), ("reason", "timeout")],
                factory: factory).increment()
        let now = ContinuousClock.now
        let retryAfter = state.withLock { estimatedWait($0, now: now) }
        return .overloaded("No \(provider) provider slot freed within \(Int(timeout.milliseconds / 1000)) s; try again later.",
                           retryAfter: retryAfter)
    }

    /// How long a newcomer would likely wait: the rest of a pause, else the line ahead divided
    /// among the slots, at the average time a request holds one (between 1 s and the queue timeout).
    private func estimatedWait(_ state: State, now: ContinuousClock.Instant) -> Duration {
        if let until = state.pausedUntil, until > now { return now.duration(to: until) }
        let slots = Double(limit ?? max(state.running, 1))
        let seconds = state.meanHoldSeconds * Double(state.waiting + 1) / slots
        let bounded = min(max(seconds, 1), max(timeout.milliseconds / 1000, 1))
        return .milliseconds(Int64(bounded * 1000))
    }
}
