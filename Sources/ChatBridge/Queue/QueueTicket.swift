import Synchronization

/// One request's place in a ``ProviderQueue``: waiting, then holding a slot, then done.
///
/// ``release()`` gives the slot (or the place in line) back; it is idempotent and also runs when the
/// ticket is dropped, so no path can leak a slot.
public final class QueueTicket: Sendable {
    let queue: ProviderQueue
    let id: UInt64
    /// `nil` when the slot was granted at reservation.
    private let signal: AsyncStream<Void>?
    private let phase: Mutex<Phase>

    enum Phase {
        case waiting
        case holding(since: ContinuousClock.Instant)
        case done
    }

    init(queue: ProviderQueue, id: UInt64, signal: AsyncStream<Void>?) {
        self.queue = queue
        self.id = id
        self.signal = signal
        phase = Mutex(signal == nil ? .holding(since: .now) : .waiting)
    }

    deinit { release() }

    /// How long the request waited for its slot, pauses for upstream throttling included (set by
    /// ``stream(_:from:onPosition:onTick:)``).
    public var waited: Duration { waitedTime.withLock { $0 } }
    private let waitedTime = Mutex(Duration.zero)

    /// Waits for a slot (reporting the position through `onPosition`, first at once, then when it
    /// changes, at most once per ``ProviderQueue/positionInterval``), then opens the provider's
    /// stream. A 429/503 with `Retry-After` pauses the queue and sends the request again while the
    /// whole wait stays within the queue timeout. Throws `overloaded` when the wait times out and
    /// `CancellationError` when the task is cancelled (the place is given up at once).
    ///
    /// `onTick` runs at most once a second while waiting: a transport that only notices a departed
    /// client when a write fails (SSE) writes a keep-alive there.
    public func stream(_ request: LLMRequest, from provider: any LLMProvider,
                       onPosition: (Int) async -> Void, onTick: () async -> Void = {}) async throws -> LLMEventStream {
        let start = ContinuousClock.now
        var queued = try await waitForSlot(onPosition: onPosition, onTick: onTick)
        while true {
            do {
                let stream = try await provider.stream(request)
                waitedTime.withLock { [queued] in $0 = queued }
                return stream
            } catch let throttled as ProviderThrottled {
                // A pause past the queue timeout would only make every other waiter time out too.
                queue.pause(for: min(throttled.retryAfter, queue.timeout))
                guard start.duration(to: .now) + throttled.retryAfter <= queue.timeout else {
                    throw APIError.overloaded(
                        "The \(queue.provider) provider asked to wait \(Int(throttled.retryAfter.milliseconds / 1000)) s, "
                            + "beyond the queue timeout; try again later.", retryAfter: throttled.retryAfter)
                }
                try await Task.sleep(for: throttled.retryAfter)
                queued += throttled.retryAfter
            }
        }
    }

    /// Waits until this ticket holds a slot and returns how long that took (zero if it already did).
    @discardableResult
    public func waitForSlot(onPosition: (Int) async -> Void, onTick: () async -> Void = {}) async throws -> Duration {
        guard let signal, case .waiting = phase.withLock({ $0 }) else { return .zero }
        let queue = self.queue
        let id = self.id
        let start = ContinuousClock.now
        let deadline = start + queue.timeout
        do {
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    // Ticks: late position updates, the end of an upstream pause, the timeout.
                    while ContinuousClock.now < deadline {
                        try await Task.sleep(until: min(ContinuousClock.now + queue.tickInterval, deadline))
                        queue.dispatch()
                        queue.poke(id)
                    }
                }
                defer { group.cancelAll() }
                var last: Int?
                var lastSent = ContinuousClock.now
                if !queue.isGranted(id), let position = queue.position(of: id) {
                    await onPosition(position)
                    last = position
                    lastSent = .now
                }
                // Woken by the grant and by the ticks; the stream ends when the task is cancelled.
                for await _ in signal {
                    if queue.isGranted(id) { return }
                    if ContinuousClock.now >= deadline { throw queue.timedOut() }
                    if let position = queue.position(of: id), position != last,
                       lastSent.duration(to: .now) >= queue.positionInterval {
                        await onPosition(position)
                        last = position
                        lastSent = .now
                    } else if lastSent.duration(to: .now) >= queue.positionInterval {
                        // A frame or a keep-alive at most once per interval, not on every wake-up.
                        await onTick()
                        lastSent = .now
                    }
                }
                throw CancellationError()
            }
        } catch {
            waitedTime.withLock { $0 = start.duration(to: .now) }
            phase.withLock { $0 = .done }
            queue.leave(id)
            throw error
        }
        let waited = start.duration(to: .now)
        waitedTime.withLock { $0 = waited }
        phase.withLock { $0 = .holding(since: .now) }
        queue.settle(id, waited: waited)
        return waited
    }

    /// Gives the slot back, or the place in line if the slot never came. Safe to call twice.
    public func release() {
        let previous = phase.withLock { phase in
            defer { phase = .done }
            return phase
        }
        switch previous {
        case .waiting: queue.leave(id)
        case .holding(let since): queue.release(held: since.duration(to: .now))
        case .done: break
        }
    }
}
