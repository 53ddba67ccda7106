import Foundation
import GRDB

/// A message pair shown when a conversation opens, for one user or (with `userId == nil`) for everyone.
public struct WelcomeMessage: Codable, Sendable, Equatable, Identifiable {
    public var id: Int64?
    public var userId: Int64?
    public var userMessage: String?
    public var response: String
    public var orderIndex: Int
    public var createdAt: Date

    public init(
        id: Int64? = nil, userId: Int64?, userMessage: String?, response: String, orderIndex: Int,
        createdAt: Date = Timestamp.now()
    ) {
        self.id = id
        self.userId = userId
        self.userMessage = userMessage
        self.response = response
        self.orderIndex = orderIndex
        self.createdAt = createdAt
    }
}

extension WelcomeMessage: FetchableRecord, MutablePersistableRecord, SnakeCaseColumns {
    public static let databaseTableName = "welcome_messages"

    public mutating func didInsert(_ inserted: InsertionSuccess) {
        id = inserted.rowID
    }
}
