import Foundation
import GRDB

/// A note an agent keeps for a workspace (the `workspace_notes` tool), per user.
public struct WorkspaceNote: Codable, Sendable, Equatable, Identifiable {
    public var id: Int64?
    public var workspaceId: Int64
    public var userId: Int64?
    public var title: String
    public var content: String
    public var createdAt: Date

    public init(id: Int64? = nil, workspaceId: Int64, userId: Int64?, title: String, content: String,
                createdAt: Date = Timestamp.now()) {
        self.id = id
        self.workspaceId = workspaceId
        self.userId = userId
        self.title = title
        self.content = content
        self.createdAt = createdAt
    }
}

extension WorkspaceNote: FetchableRecord, MutablePersistableRecord, SnakeCaseColumns {
    public static let databaseTableName = "workspace_notes"

    public mutating func didInsert(_ inserted: InsertionSuccess) {
        id = inserted.rowID
    }
}
