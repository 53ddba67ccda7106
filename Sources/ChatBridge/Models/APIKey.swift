import Foundation
import GRDB

/// A long-lived bearer credential for programs. Only a hash of the secret is stored.
public struct APIKey: Codable, Sendable, Equatable, Identifiable {
    public var id: Int64?
    public var name: String
    /// The first characters of the secret, shown in listings so a key can be recognised.
    public var prefix: String
    /// Hex SHA-256 of the whole secret.
    public var secretHash: String
    /// The user the key acts as; `nil` means an administrator key.
    public var userId: Int64?
    public var createdAt: Date
    public var lastUsedAt: Date?
    public var revokedAt: Date?

    public init(
        id: Int64? = nil, name: String, prefix: String, secretHash: String, userId: Int64?,
        createdAt: Date = Timestamp.now(), lastUsedAt: Date? = nil, revokedAt: Date? = nil
    ) {
        self.id = id
        self.name = name
        self.prefix = prefix
        self.secretHash = secretHash
        self.userId = userId
        self.createdAt = createdAt
        self.lastUsedAt = lastUsedAt
        self.revokedAt = revokedAt
    }
}

extension APIKey: FetchableRecord, MutablePersistableRecord, SnakeCaseColumns {
    public static let databaseTableName = "api_keys"

    public mutating func didInsert(_ inserted: InsertionSuccess) {
        id = inserted.rowID
    }
}
