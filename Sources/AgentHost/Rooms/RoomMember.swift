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

/// One WebSocket in a room. Its frames go through a ``SocketOutbox``: handed over without waiting,
/// a connection that falls behind is marked too slow instead of slowing anybody else, and replays
/// are pulled by the connection's writer.
final class RoomMember: Sendable {
    let id: String
    let userId: Int64?
    let username: String?
    /// Serialized frames, ready to write: a frame fanned out to a room is serialized once, not per member.
    let outbox: SocketOutbox

    init(userId: Int64?, username: String?, bufferLimit: Int) {
        id = UUID().uuidString.lowercased()
        self.userId = userId
        self.username = username
        outbox = SocketOutbox(limit: bufferLimit)
    }

    /// Queues `frame`; returns false (and marks the member too slow) when its buffer is full.
    @discardableResult
    func deliver(_ frame: JSONValue) -> Bool {
        outbox.deliver(text: frame.serializedString)
    }

    /// Queues an already serialized frame.
    @discardableResult
    func deliver(text: String) -> Bool {
        outbox.deliver(text: text)
    }

    func finish() {
        outbox.finish()
    }
}
