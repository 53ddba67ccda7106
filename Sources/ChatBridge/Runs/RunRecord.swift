import Foundation
import GRDB

/// A run's row in the log: what it is, whose it is, and whether it has ended (PROTOCOL §8).
///
/// A run is a chat generation (its id is the chat's `chat_id` UUID) or an agent invocation (its
/// `invocation_id`). Its frames are in `run_frames`.
public struct RunRecord: Codable, Sendable, Equatable, Identifiable {
    public enum Kind: String, Codable, Sendable {
        case chat
        case agent
    }

    public var id: String
    public var kind: Kind
    public var workspaceId: Int64
    public var userId: Int64?
    /// Fields every frame of the run carries besides its own (the `user` tag of `ws/chat` frames),
    /// so a frame written by start-up repair looks like the others.
    public var frameExtra: JSONValue
    /// The `ws/chat` room a generation started in, as its key reads (a `resume` must come from it).
    public var room: String?
    /// The `seq` of the last frame logged; -1 before the first.
    public var lastSeq: Int
    public var createdAt: Date
    public var endedAt: Date?

    public init(id: String, kind: Kind, workspaceId: Int64, userId: Int64?, frameExtra: JSONValue = [:], room: String? = nil,
                lastSeq: Int = -1, createdAt: Date = Timestamp.now(), endedAt: Date? = nil) {
        self.id = id
        self.kind = kind
        self.workspaceId = workspaceId
        self.userId = userId
        self.frameExtra = frameExtra
        self.room = room
        self.lastSeq = lastSeq
        self.createdAt = createdAt
        self.endedAt = endedAt
    }
}

extension RunRecord: FetchableRecord, PersistableRecord, SnakeCaseColumns {
    public static let databaseTableName = "runs"
}
