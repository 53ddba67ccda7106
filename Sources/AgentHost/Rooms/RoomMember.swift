import ChatBridge
import Foundation
import Synchronization

/// The conversation a room carries: a workspace's thread, or one user's default thread of it.
struct RoomKey: Hashable, Sendable, CustomStringConvertible {
    var workspaceId: Int64
    var threadId: Int64?
    /// Set only for default-thread rooms, which are per user.
    var defaultThreadOwner: Int64?

    var description: String {
        "\(workspaceId)/\(threadId.map(String.init) ?? "default:\(defaultThreadOwner.map(String.init) ?? "single-user")")"
    }
}

/// One WebSocket in a room, with a bounded outbound buffer: frames are handed over without waiting,
/// and a connection whose buffer overflows is marked too slow instead of slowing anybody else.
final class RoomMember: Sendable {
    let id: String
    let userId: Int64?
    let username: String?
    /// Serialized frames, ready to write: a frame fanned out to a room is serialized once, not per member.
    let outgoing: AsyncStream<String>
    private let continuation: AsyncStream<String>.Continuation
    private let slow = CancelSignal()

    init(userId: Int64?, username: String?, bufferLimit: Int) {
        id = UUID().uuidString.lowercased()
        self.userId = userId
        self.username = username
        (outgoing, continuation) = AsyncStream.makeStream(bufferingPolicy: .bufferingOldest(bufferLimit))
    }

    /// Queues `frame`; returns false (and marks the member too slow) when its buffer is full.
    @discardableResult
    func deliver(_ frame: JSONValue) -> Bool {
        deliver(text: frame.serializedString)
    }

    /// Queues an already serialized frame.
    @discardableResult
    func deliver(text: String) -> Bool {
        switch continuation.yield(text) {
        case .enqueued: return true
        case .dropped:
            slow.request()
            continuation.finish()
            return false
        case .terminated: return false
        @unknown default: return false
        }
    }

    var isTooSlow: Bool { slow.isRequested }

    /// Returns when the member fell behind (or the waiting task is cancelled).
    func waitUntilTooSlow() async {
        await slow.wait()
    }

    func finish() {
        continuation.finish()
    }
}
