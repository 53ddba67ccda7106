import Foundation
import GRDB

/// A named conversation inside a workspace, owned by one user.
public struct ChatThread: Codable, Sendable, Equatable, Identifiable {
    public var id: Int64?
    public var workspaceId: Int64
    public var userId: Int64?
    public var name: String
    public var slug: String
    public var createdAt: Date
    public var updatedAt: Date

    public init(
        id: Int64? = nil, workspaceId: Int64, userId: Int64?, name: String, slug: String,
        createdAt: Date = Timestamp.now(), updatedAt: Date = Timestamp.now()
    ) {
        self.id = id
        self.workspaceId = workspaceId
        self.userId = userId
        self.name = name
        self.slug = slug
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }
}

extension ChatThread: FetchableRecord, MutablePersistableRecord, SnakeCaseColumns {
    public static let databaseTableName = "threads"

    public mutating func didInsert(_ inserted: InsertionSuccess) {
        id = inserted.rowID
    }
}
