import Foundation
import GRDB

/// A person or program that signs in. Absent entirely in single-user mode.
public struct User: Codable, Sendable, Equatable, Identifiable {
    public enum Role: String, Codable, Sendable, CaseIterable {
        case admin
        case `default`
    }

    public var id: Int64?
    public var username: String
    public var passwordHash: String
    public var role: Role
    /// Chats a user may start per UTC day; `nil` means unlimited.
    public var dailyMessageLimit: Int?
    public var suspended: Bool
    public var createdAt: Date
    public var updatedAt: Date

    public init(
        id: Int64? = nil, username: String, passwordHash: String, role: Role = .default,
        dailyMessageLimit: Int? = nil, suspended: Bool = false, createdAt: Date = Timestamp.now(), updatedAt: Date = Timestamp.now()
    ) {
        self.id = id
        self.username = username
        self.passwordHash = passwordHash
        self.role = role
        self.dailyMessageLimit = dailyMessageLimit
        self.suspended = suspended
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }

    public var isAdmin: Bool { role == .admin }
}

extension User: FetchableRecord, MutablePersistableRecord, SnakeCaseColumns {
    public static let databaseTableName = "users"

    public mutating func didInsert(_ inserted: InsertionSuccess) {
        id = inserted.rowID
    }
}
