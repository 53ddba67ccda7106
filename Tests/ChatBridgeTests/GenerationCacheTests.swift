import Foundation
import GRDB
import Synchronization
import Testing

@testable import ChatBridge

/// Every chat request looks its workspace up by slug first, and every `ws/chat` connect sends the
/// welcome messages; on SQLite both are answered from memory, and a change made through the store is
/// seen by the very next lookup (issue 17).
@Suite("Rows kept in memory")
struct GenerationCacheTests {
    @Test func aWorkspaceIsReadOnceAndAChangeIsSeenAtOnce() async throws {
        let database = try AppDatabase.inMemory()
        let store = SQLiteStore(writer: database)
        let created = try await store.createWorkspace(Workspace(name: "Docs", slug: ""))
        let reads = Mutex(0)
        try await database.write { db in
            db.trace { event in
                if event.description.contains("FROM \"workspaces\"") { reads.withLock { $0 += 1 } }
            }
        }
        // (Compared by fields: a Date read back may differ from the written one in its last bits.)
        let first = try #require(try await store.workspace(slug: "docs"))
        #expect(first.id == created.id && first.name == "Docs")
        #expect(try await store.workspace(slug: "docs") == first)
        #expect(reads.withLock { $0 } == 1)
        #expect(try await store.workspace(slug: "nope") == nil)

        var changed = first
        changed.temperature = 0.2
        changed.systemPrompt = "Be brief."
        _ = try await store.updateWorkspace(changed)
        let reread = try #require(try await store.workspace(slug: "docs"))
        #expect(reread.systemPrompt == "Be brief.")
        #expect(reread.temperature == 0.2)
        #expect(reads.withLock { $0 } == 3)

        // A new workspace is found too (a create clears what was kept).
        let other = try await store.createWorkspace(Workspace(name: "Other", slug: ""))
        let found = try await store.workspace(slug: other.slug)
        #expect(found?.id == other.id)
    }

    @Test func welcomeMessagesAreReadOnceAndAnAdditionIsSeenAtOnce() async throws {
        let database = try AppDatabase.inMemory()
        let store = SQLiteStore(writer: database)
        let alice = try await store.createUser(User(username: "alice", passwordHash: "x", role: .default))
        _ = try await store.addWelcomeMessage(WelcomeMessage(userId: nil, userMessage: nil, response: "hello", orderIndex: 1))
        let reads = Mutex(0)
        try await database.write { db in
            db.trace { event in
                if event.description.contains("FROM \"welcome_messages\"") { reads.withLock { $0 += 1 } }
            }
        }
        for _ in 0..<3 {
            #expect(try await store.welcomeMessages(forUserId: nil).map(\.response) == ["hello"])
            #expect(try await store.welcomeMessages(forUserId: alice.id).map(\.response) == ["hello"])
        }
        // One read per user asked for, not per connect.
        #expect(reads.withLock { $0 } == 2)

        _ = try await store.addWelcomeMessage(WelcomeMessage(userId: alice.id, userMessage: "hi", response: "yours", orderIndex: 0))
        #expect(try await store.welcomeMessages(forUserId: alice.id).map(\.response) == ["yours", "hello"])
        #expect(try await store.welcomeMessages(forUserId: nil).map(\.response) == ["hello"])
        #expect(reads.withLock { $0 } == 4)
    }

    /// Single-user mode ends the moment a user exists, also one added by another process (`agenthost
    /// users add` while the server runs): "no users" is never kept, "some users" is, as users are
    /// never deleted.
    @Test func usersAddedBehindTheStoresBackEndSingleUserModeAtOnce() async throws {
        let database = try AppDatabase.inMemory()
        let store = SQLiteStore(writer: database)
        #expect(try await store.hasUsers() == false)
        #expect(try await store.hasUsers() == false)
        // Not through `store`: as another process would.
        try await database.write { db in
            var user = User(username: "bob", passwordHash: "x", role: .default)
            try user.insert(db)
        }
        #expect(try await store.hasUsers())
        let reads = Mutex(0)
        try await database.write { db in
            db.trace { event in
                if event.description.contains("FROM users") { reads.withLock { $0 += 1 } }
            }
        }
        #expect(try await store.hasUsers())
        #expect(reads.withLock { $0 } == 0)
    }

    @Test func aReadThatRacedAChangeIsNotKept() {
        let cache = GenerationCache<String, Workspace>(capacity: 2)
        let old = Workspace(id: 1, name: "Docs", slug: "docs")
        let generation = cache.generation
        cache.clear()  // the change committed while the read was under way
        cache.remember(old, for: "docs", readIn: generation)
        #expect(cache.value(for: "docs") == nil)

        cache.remember(old, for: "docs", readIn: cache.generation)
        #expect(cache.value(for: "docs") == old)
        // Bounded: past its capacity it starts over.
        cache.remember(Workspace(id: 2, name: "B", slug: "b"), for: "b", readIn: cache.generation)
        cache.remember(Workspace(id: 3, name: "C", slug: "c"), for: "c", readIn: cache.generation)
        #expect(cache.value(for: "docs") == nil)
        #expect(cache.value(for: "c")?.id == 3)
    }
}
