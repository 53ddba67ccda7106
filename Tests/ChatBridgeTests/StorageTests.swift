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

    @Test func chatsRoundTripThroughTheirExplicitColumnsAndFinishInOneUpdate() async throws {
        let store = SQLiteStore(writer: try AppDatabase.inMemory())
        let workspace = try await store.createWorkspace(Workspace(name: "W", slug: ""))
        let thread = try await store.createThread(workspaceId: workspace.id!, userId: nil, name: "T")
        let written = Chat(
            workspaceId: workspace.id!, threadId: thread.id, userId: nil, prompt: "p \"q\" é", response: "",
            sources: [ChatSource(title: "Doc", chunk: "c", score: 0.5, documentId: 7)],
            attachments: [AttachmentInfo(name: "a.txt", mime: "text/plain", size: 3)], feedback: false, include: false,
            apiSessionId: "s", mode: .query, model: "m", status: .streaming, promptTokens: 1, completionTokens: 2, error: nil)
        let begun = try await store.beginChat(written, dailyLimit: nil, now: Date())
        var expected = written
        expected.id = begun.id
        let read = try #require(try await store.chat(id: begun.id!, viewer: .singleUser)?.chat)
        // Times come back from their millisecond text form equal to within floating-point noise.
        #expect(abs(read.createdAt.timeIntervalSince(written.createdAt)) < 0.000_5)
        expected.createdAt = read.createdAt
        expected.updatedAt = read.updatedAt
        #expect(read == expected)
        let raw = try await store.writer.read { db in
            try Row.fetchOne(db, sql: "SELECT sources, attachments, mode, status, include FROM workspace_chats WHERE id = ?",
                             arguments: [begun.id])!
        }
        #expect(raw["sources"] as String == #"[{"chunk":"c","documentId":7,"score":0.5,"title":"Doc"}]"#)
        #expect(raw["attachments"] as String == #"[{"mime":"text\/plain","name":"a.txt","size":3}]"#)
        #expect((raw["mode"] as String, raw["status"] as String, raw["include"] as Bool) == ("query", "streaming", false))

        let sources = [ChatSource(title: "Other", chunk: "x", score: 1, documentId: nil)]
        try await store.finishChat(id: begun.id!, outcome: ChatOutcome(
            response: "answer", status: .completed, usage: Usage(promptTokens: 10, completionTokens: 20), model: nil, sources: sources))
        let finished = try #require(try await store.chat(id: begun.id!, viewer: .singleUser)?.chat)
        #expect(finished.response == "answer" && finished.status == .completed && finished.sources == sources)
        #expect((finished.promptTokens, finished.completionTokens) == (10, 20))
        #expect(finished.model == "m", "a missing model keeps the one the chat began with")
        #expect(finished.prompt == written.prompt && finished.feedback == false && finished.createdAt == read.createdAt)
        #expect(finished.updatedAt.timeIntervalSince(read.updatedAt) > -0.001)
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
