import ChatBridge
import Foundation
import Synchronization

/// The conversation a room carries: a workspace's thread, or one user's default thread of it.
struct RoomKey: Hashable, Sendable, Codable, CustomStringConvertible {
    var workspaceId: Int64
    var threadId: Int64?
    /// Set only for default-thread rooms, which are per user.
    var defaultThreadOwner: Int64?

    var description: String {
        "\(workspaceId)/\(threadId.map(String.init) ?? "default:\(defaultThreadOwner.map(String.init) ?? "single-user")")"
    }
}

/// One WebSocket in a room. Its frames go through an ``Outbox``: handed over without waiting,
/// a connection that falls behind is marked too slow instead of slowing anybody else, and replays
/// are pulled by the connection's writer.
final class RoomMember: Sendable {
    let id: String
    let userId: Int64?
    let username: String?
    let outbox: Outbox

    init(userId: Int64?, username: String?, bufferLimit: Int) {
        id = UUID.random().uuidString.lowercased()
        self.userId = userId
        self.username = username
        outbox = Outbox(limit: bufferLimit)
    }

    /// Queues a frame of the connection; returns false (and marks the member too slow) when its buffer is full.
    @discardableResult
    func deliver(_ frame: JSONValue) -> Bool {
        outbox.deliver(frame)
    }

    func finish() {
        outbox.finish()
    }
}
