import Foundation
import GRDB

/// The SQLite implementation of ``ChatStore`` and ``AccountStore``.
///
/// Takes any GRDB writer: a `DatabasePool` (WAL) in production, an in-memory `DatabaseQueue` in tests.
public final class SQLiteStore: Sendable {
    public let writer: any DatabaseWriter
    /// ``ChatStore/workspace(slug:)`` answers from memory; ``ChatStore/createWorkspace(_:)`` and
    /// ``ChatStore/updateWorkspace(_:)`` clear it.
    let workspaceCache = GenerationCache<String, Workspace>()
    /// ``ChatStore/welcomeMessages(forUserId:)`` answers from memory; ``ChatStore/addWelcomeMessage(_:)`` clears it.
    let welcomeCache = GenerationCache<Int64?, [WelcomeMessage]>()
    /// Asked by every request that carries no valid credential.
    private let usersExist = UsersExistLatch()

    public init(writer: any DatabaseWriter) {
        self.writer = writer
    }
}

extension SQLiteStore: AccountStore {
    public func hasUsers() async throws -> Bool {
        try await usersExist.hasUsers {
            try await writer.read { db in
                try Bool.fetchOne(db.cachedStatement(sql: "SELECT EXISTS (SELECT 1 FROM users)")) ?? false
            }
        }
    }

    public func createUser(_ user: User) async throws -> User {
        try await writer.write { db in
            if try User.filter(Column("username").collating(.nocase) == user.username).fetchCount(db) > 0 {
                throw APIError(.conflict, "A user named '\(user.username)' already exists.")
            }
            var user = user
            try user.insert(db)
            return user
        }
    }

    public func user(id: Int64) async throws -> User? {
        try await writer.read { db in try User.fetchOne(db, key: id) }
    }

    public func user(username: String) async throws -> User? {
        try await writer.read { db in
            try User.filter(Column("username").collating(.nocase) == username).fetchOne(db)
        }
    }

    public func users() async throws -> [User] {
        try await writer.read { db in try User.order(Column("id")).fetchAll(db) }
    }

    public func updateUser(_ user: User) async throws -> User {
        try await writer.write { db in
            var user = user
            user.updatedAt = Timestamp.now()
            try user.update(db)
            return user
        }
    }

    public func createAPIKey(_ key: APIKey) async throws -> APIKey {
        try await writer.write { db in
            var key = key
            try key.insert(db)
            return key
        }
    }

    public func activeAPIKey(secretHash: String, now: Date) async throws -> APIKey? {
        // Read first: an unknown key (a guess, a placeholder) must never queue for the single write
        // lock, and a known one writes only when its last use is stale.
        let request = APIKey.filter(Column("secret_hash") == secretHash && Column("revoked_at") == nil)
        guard let key = try await writer.read({ db in try request.fetchOne(db) }) else { return nil }
        // Recording every use would make each request a write; minute resolution is enough to audit.
        guard key.lastUsedAt.map({ now.timeIntervalSince($0) > 60 }) ?? true else { return key }
        return try await writer.write { db in
            guard var current = try request.fetchOne(db) else { return nil }
            if current.lastUsedAt.map({ now.timeIntervalSince($0) > 60 }) ?? true {
                current.lastUsedAt = now
                try current.update(db, columns: ["last_used_at"])
            }
            return current
        }
    }

    public func apiKeys() async throws -> [APIKey] {
        try await writer.read { db in try APIKey.order(Column("id")).fetchAll(db) }
    }

    public func revokeAPIKey(id: Int64, now: Date) async throws -> Bool {
        try await writer.write { db in
            try APIKey
                .filter(key: id)
                .filter(Column("revoked_at") == nil)
                .updateAll(db, Column("revoked_at").set(to: now)) > 0
        }
    }
}
