import NIOCore
import Synchronization

/// The event loop a provider's requests go to: the loop of its last request, so consecutive requests
/// (the steps of one agent run) find the connection the previous answer came on idle in the pool.
///
/// The pool prefers an idle connection on the request's loop and parks a connection on the loop it
/// was opened for; a fresh loop per request (the group's round robin) would often take a connection
/// on another loop, and every body part would then cross from that loop to the delegate's.
final class EventLoopAffinity: Sendable {
    private let last = Mutex<(any EventLoop)?>(nil)

    /// The loop of the last request, or one of `group`'s for the first.
    func loop(in group: any EventLoopGroup) -> any EventLoop {
        last.withLock { $0 } ?? group.any()
    }

    /// Remembers the loop a request ran on.
    func remember(_ loop: any EventLoop) {
        last.withLock { $0 = loop }
    }
}
