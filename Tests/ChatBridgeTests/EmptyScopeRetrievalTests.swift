import Foundation
import GRDB
import Synchronization
import Testing

@testable import ChatBridge

/// Retrieval runs before the model request of every chat: in a workspace (or an owner's scope)
/// without documents it reads the database once, not once per ranking stage (issue 17).
@Suite("Retrieval over a scope without documents")
struct EmptyScopeRetrievalTests {
    @Test func aScopeWithoutPassagesIsOneRead() async throws {
        let database = try AppDatabase.inMemory()
        let chats = SQLiteStore(writer: database)
        let workspace = try await chats.createWorkspace(Workspace(name: "W", slug: ""))
        let other = try await chats.createWorkspace(Workspace(name: "Other", slug: ""))
        let store = SQLiteDocumentStore(writer: database)
        // Another workspace's document must not make this one look non-empty.
        _ = try await store.addDocument(
            Document(workspaceId: other.id!, userId: nil, name: "refunds.md", mime: "text/markdown", size: 9, pinned: true,
                     text: "Refunds within 30 days."),
            chunks: [DocumentChunk(documentId: 0, workspaceId: other.id!, position: 0, heading: nil, text: "Refunds within 30 days.")])
        // The queries run (not the transaction and read-only pragmas around each read).
        let statements = Mutex<[String]>([])
        try await database.write { db in
            db.trace { event in
                let sql = event.description.trimmingCharacters(in: .whitespacesAndNewlines)
                if sql.uppercased().hasPrefix("SELECT") { statements.withLock { $0.append(sql) } }
            }
        }
        let retriever = DocumentRetriever(store: store)

        let empty = try await retriever.retrieve(query: "what about refunds policies?", workspace: workspace, ownerId: nil)
        #expect(empty == .empty)
        #expect(statements.withLock { $0 }.count == 1, "\(statements.withLock { $0 })")

        // The scope with the document still finds (and pins) it.
        let found = try await retriever.retrieve(query: "what about refunds policies?", workspace: other, ownerId: nil)
        #expect(found.chunks.map(\.source.chunk) == ["Refunds within 30 days."])
        #expect(found.chunks.first?.pinned == true)
    }
}
