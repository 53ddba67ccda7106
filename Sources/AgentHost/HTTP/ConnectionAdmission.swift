import NIOCore
import Synchronization

/// Bounds the connections being set up at once: accepted, but not yet past their first request (a
/// plain HTTP request, or a WebSocket upgrade and the opening of its session). With ``limit`` of
/// them pending the listener stops accepting, and it accepts again once half are done, so a burst
/// of connects (every client of a restarted server reconnecting at once) waits in the kernel's
/// listen queue instead of in this process.
///
/// Why: a connection being set up holds its HTTP pipeline, its parsed request and the tasks that
/// route it and open its session. When 10,000 WebSocket clients connected at once, thousands were
/// set up together, and after they had all opened, the heap kept that peak: 10,000 idle sockets took
/// 270–300 MB of which 72 MB was live (glibc's `malloc_stats`), against 130 MB when they arrive at a
/// steady pace. The memory freed is scattered between the live connections and is not returned to
/// the system (`malloc_trim` gave back a fifth of it).
///
/// A connection counts for at most ``hold``: one that sends nothing (slowloris; the request-head
/// deadline closes it later) or whose setup is slow cannot keep the listener shut for longer.
final class ConnectionAdmission: Sendable {
    private struct State {
        var pending = 0
        var paused = false
        /// The listening channel, learnt from the first connection (its parent).
        var listener: (any Channel)?
    }

    private let state = Mutex(State())
    /// Connections being set up at which the listener pauses.
    let limit: Int
    /// How long one connection counts at most.
    let hold: TimeAmount

    init(limit: Int, hold: Duration) {
        self.limit = max(limit, 1)
        self.hold = .nanoseconds(hold.nanoseconds)
    }

    /// Counts `channel` (just accepted) until ``Place/leave()``, its close or ``hold``, whichever comes first.
    func admit(_ channel: any Channel) -> Place {
        let place = Place(admission: self, channel: channel)
        enter(listener: channel.parent)
        channel.closeFuture.whenComplete { _ in place.leave() }
        let expiry = channel.eventLoop.scheduleTask(in: hold) { place.leave() }
        place.expiry.value = expiry
        return place
    }

    /// A connection's place, given back once. Used on the connection's event loop only.
    final class Place: Sendable {
        private let admission: ConnectionAdmission
        private let counted: NIOLoopBoundBox<Bool>
        fileprivate let expiry: NIOLoopBoundBox<Scheduled<Void>?>

        fileprivate init(admission: ConnectionAdmission, channel: any Channel) {
            self.admission = admission
            counted = NIOLoopBoundBox(true, eventLoop: channel.eventLoop)
            expiry = NIOLoopBoundBox(nil, eventLoop: channel.eventLoop)
        }

        /// The connection is set up (or closed, or held its place for ``ConnectionAdmission/hold``).
        func leave() {
            guard counted.value else { return }
            counted.value = false
            expiry.value?.cancel()
            expiry.value = nil
            admission.leave()
        }
    }

    private func enter(listener: (any Channel)?) {
        let pause = state.withLock { state -> (any Channel)? in
            state.pending += 1
            if state.listener == nil { state.listener = listener }
            guard !state.paused, state.pending >= limit else { return nil }
            state.paused = true
            return state.listener
        }
        if let pause { applyState(to: pause) }
    }

    private func leave() {
        let resume = state.withLock { state -> (any Channel)? in
            state.pending -= 1
            guard state.paused, state.pending <= limit / 2 else { return nil }
            state.paused = false
            return state.listener
        }
        if let resume { applyState(to: resume) }
    }

    /// Connections being set up now.
    var pending: Int { state.withLock { $0.pending } }
    /// Whether the listener is paused now.
    var isPaused: Bool { state.withLock { $0.paused } }

    /// Sets the listener's reading to the state current when this runs on its loop, not the one that
    /// asked: a pause and a resume decided on two loops can reach the listener in either order.
    private func applyState(to listener: any Channel) {
        listener.eventLoop.execute { [self] in
            listener.setOption(ChannelOptions.autoRead, value: !isPaused).whenFailure { _ in
                // The listener is closing: nothing is left to accept.
            }
        }
    }
}
