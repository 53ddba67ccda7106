import Foundation
import GRDB

/// A telemetry event. Never holds prompt or response text.
public struct EventLog: Codable, Sendable, Equatable, Identifiable {
    public var id: Int64?
    public var event: String
    public var workspaceId: Int64?
    public var userId: Int64?
    public var chatId: Int64?
    /// Small JSON object of numbers and codes (durations, token counts, provider, status).
    public var metadata: [String: String]
    public var createdAt: Date

    public init(
        id: Int64? = nil, event: String, workspaceId: Int64?, userId: Int64?, chatId: Int64?,
        metadata: [String: String], createdAt: Date = Timestamp.now()
    ) {
        self.id = id
        self.event = event
        self.workspaceId = workspaceId
        self.userId = userId
        self.chatId = chatId
        self.metadata = metadata
        self.createdAt = createdAt
    }
}

extension EventLog: FetchableRecord, MutablePersistableRecord, SnakeCaseColumns {
    public static let databaseTableName = "event_logs"

    public mutating func didInsert(_ inserted: InsertionSuccess) {
        id = inserted.rowID
    }
}
