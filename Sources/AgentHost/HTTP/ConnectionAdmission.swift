import Logging
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
///
/// It also bounds the connections open at once (``maxOpen``, `--max-connections`): at that many the
/// listener stops accepting until a twentieth of them have closed. Every connection holds a file
/// descriptor, and a process that runs out of them fails in ways worse than a full listen queue:
/// NIO retries `accept` in a busy loop (measured: a core at 100% for as long as the flood lasts), and
/// libdispatch's thread-pool monitor, which opens `/proc/<tid>/stat` for each worker, stops the whole
/// process when that open fails (SIGILL, "workq: registered worker exited prematurely"; seen here).
final class ConnectionAdmission: Sendable {
    private struct State {
        var pending = 0
        var open = 0
        var pausedForPending = false
        var pausedForOpen = false
        /// The listening channel, learnt from the first connection (its parent).
        var listener: (any Channel)?

        var paused: Bool { pausedForPending || pausedForOpen }
    }

    private let state = Mutex(State())
    /// Connections being set up at which the listener pauses.
    let limit: Int
    /// How long one connection counts at most.
    let hold: TimeAmount
    /// Open connections at which the listener pauses.
    let maxOpen: Int
    /// Open connections at which it accepts again.
    private let resumeOpen: Int
    private let logger: Logger

    init(limit: Int, hold: Duration, maxOpen: Int = .max, logger: Logger = Logger(label: "agenthost.connections")) {
        self.limit = max(limit, 1)
        self.hold = .nanoseconds(hold.nanoseconds)
        self.maxOpen = max(maxOpen, 1)
        resumeOpen = self.maxOpen - max(self.maxOpen / 20, 1)
        self.logger = logger
    }

    /// Counts `channel` (just accepted) until ``Place/leave()``, its close or ``hold``, whichever comes first.
    func admit(_ channel: any Channel) -> Place {
        let place = Place(admission: self, channel: channel)
        enter(listener: channel.parent)
        channel.closeFuture.whenComplete { _ in
            place.leave()
            self.closed()
        }
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
        let (pause, full) = state.withLock { state -> ((any Channel)?, Bool) in
            state.pending += 1
            state.open += 1
            if state.listener == nil { state.listener = listener }
            let wasPaused = state.paused
            if state.pending >= limit { state.pausedForPending = true }
            let full = !state.pausedForOpen && state.open >= maxOpen
            if full { state.pausedForOpen = true }
            return (!wasPaused && state.paused ? state.listener : nil, full)
        }
        if full {
            logger.warning("connection limit reached: not accepting until some close", metadata: [
                "open_connections": "\(maxOpen)", "resume_at": "\(resumeOpen)",
            ])
        }
        if let pause { applyState(to: pause) }
    }

    /// A connection is set up (or closed, or held its place for ``hold``).
    private func leave() {
        let resume = state.withLock { state -> (any Channel)? in
            state.pending -= 1
            guard state.pausedForPending, state.pending <= limit / 2 else { return nil }
            state.pausedForPending = false
            return state.paused ? nil : state.listener
        }
        if let resume { applyState(to: resume) }
    }

    /// A connection closed.
    private func closed() {
        let (resume, reopened) = state.withLock { state -> ((any Channel)?, Bool) in
            state.open -= 1
            guard state.pausedForOpen, state.open <= resumeOpen else { return (nil, false) }
            state.pausedForOpen = false
            return (state.paused ? nil : state.listener, true)
        }
        if reopened { logger.info("accepting connections again", metadata: ["open_connections": "\(resumeOpen)"]) }
        if let resume { applyState(to: resume) }
    }

    /// Connections being set up now.
    var pending: Int { state.withLock { $0.pending } }
    /// Connections open now.
    var open: Int { state.withLock { $0.open } }
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
