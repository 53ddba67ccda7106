import Foundation
import GRDB
import Testing

@testable import ChatBridge

@Suite("Storage")
struct StorageTests {
    @Test func migrationsRunOnAnEmptyFileAndAgain() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("agenthost-\(UUID())")
        defer { try? FileManager.default.removeItem(at: directory) }
        let pool = try AppDatabase.openPool(directory: directory, logger: .init(label: "test"))
        #expect(try AppDatabase.pendingMigrations(pool).isEmpty)
        try AppDatabase.migrate(pool)  // running again is a no-op
        let tables = try pool.read { db in
            try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
        }
        for table in ["users", "api_keys", "workspaces", "threads", "workspace_chats", "welcome_messages", "event_logs",
                      "agent_invocations", "agent_steps"] {
            #expect(tables.contains(table), "missing table \(table)")
        }
        let journal = try pool.read { db in try String.fetchOne(db, sql: "PRAGMA journal_mode") }
        #expect(journal == "wal")
        try pool.close()
        // Reopening an existing database migrates nothing and keeps data.
        let reopened = try AppDatabase.openPool(directory: directory, logger: .init(label: "test"))
        #expect(try AppDatabase.pendingMigrations(reopened).isEmpty)
    }

    @Test func dailyLimitAdmitsExactlyTheLimitUnderConcurrency() async throws {
        let store = SQLiteStore(writer: try AppDatabase.inMemory())
        let user = try await store.createUser(User(username: "u", passwordHash: "x", dailyMessageLimit: 7))
        let workspace = try await store.createWorkspace(Workspace(name: "W", slug: ""))
        let admitted = await withTaskGroup(of: Bool.self) { group in
            for _ in 0..<100 {
                group.addTask {
                    do {
                        _ = try await store.beginChat(
                            Chat(workspaceId: workspace.id!, threadId: nil, userId: user.id, prompt: "p"),
                            dailyLimit: 7, now: Date())
                        return true
                    } catch let error as APIError {
                        #expect(error.code == .rateLimited)
                        #expect(error.details["limit"] == .int(7))
                        return false
                    } catch {
                        return false
                    }
                }
            }
            return await group.reduce(0) { $0 + ($1 ? 1 : 0) }
        }
        #expect(admitted == 7)
    }

    @Test func slugsAreReadableAndUnique() async throws {
        #expect(Slug.make(from: "My Team's Docs!", fallback: "x") == "my-team-s-docs")
        #expect(Slug.make(from: "日本語", fallback: "workspace") == "workspace")
        let store = SQLiteStore(writer: try AppDatabase.inMemory())
        let first = try await store.createWorkspace(Workspace(name: "Docs", slug: ""))
        let second = try await store.createWorkspace(Workspace(name: "docs", slug: ""))
        #expect(first.slug == "docs")
        #expect(second.slug == "docs-2")
    }

    @Test func passwordHashesAreSaltedAndVerify() throws {
        let hasher = PasswordHasher(rounds: 1 << 10, blockSize: 8, parallelism: 1)
        let first = try hasher.hash("secret password")
        let second = try hasher.hash("secret password")
        #expect(first != second, "each hash has its own salt")
        #expect(first.hasPrefix("scrypt$1024$8$1$"))
        #expect(hasher.verify("secret password", against: first))
        #expect(!hasher.verify("Secret password", against: first))
        #expect(!hasher.verify("secret password", against: "plain"))
    }

    @Test func apiKeySecretsAreHashedAndLookedUp() async throws {
        let store = SQLiteStore(writer: try AppDatabase.inMemory())
        let secret = APIKeySecret.generate()
        #expect(secret.hasPrefix("ahk_"))
        #expect(secret.count == 47)
        let key = try await store.createAPIKey(APIKey(name: "ci", prefix: APIKeySecret.displayPrefix(secret),
                                                      secretHash: APIKeySecret.hash(secret), userId: nil))
        #expect(try await store.activeAPIKey(secretHash: APIKeySecret.hash(secret), now: Date())?.id == key.id)
        #expect(try await store.revokeAPIKey(id: key.id!, now: Date()))
        #expect(try await store.revokeAPIKey(id: key.id!, now: Date()) == false)
        #expect(try await store.activeAPIKey(secretHash: APIKeySecret.hash(secret), now: Date()) == nil)
    }
}
