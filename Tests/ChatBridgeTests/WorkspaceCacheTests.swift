import Foundation
import GRDB
import Synchronization
import Testing

@testable import ChatBridge

/// Every chat request looks its workspace up by slug first; on SQLite that is answered from
/// memory, and a change made through the store is seen by the very next lookup (issue 17).
@Suite("Workspace lookups by slug")
struct WorkspaceCacheTests {
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

    @Test func aReadThatRacedAChangeIsNotKept() {
        let cache = WorkspaceCache(capacity: 2)
        let old = Workspace(id: 1, name: "Docs", slug: "docs")
        let generation = cache.generation
        cache.clear()  // the change committed while the read was under way
        cache.remember(old, readIn: generation)
        #expect(cache.workspace(slug: "docs") == nil)

        cache.remember(old, readIn: cache.generation)
        #expect(cache.workspace(slug: "docs") == old)
        // Bounded: past its capacity it starts over.
        cache.remember(Workspace(id: 2, name: "B", slug: "b"), readIn: cache.generation)
        cache.remember(Workspace(id: 3, name: "C", slug: "c"), readIn: cache.generation)
        #expect(cache.workspace(slug: "docs") == nil)
        #expect(cache.workspace(slug: "c")?.id == 3)
    }
}
