import ChatBridge
import Foundation
import GRDB
import Testing

@testable import AgentHost

@Suite("agenthost documents reembed")
struct DocumentReembedTests {
    @Test func afterAModelChangeOldVectorsAreReplacedAndVectorSearchUsesThem() async throws {
        let database = try AppDatabase.inMemory()
        let store = SQLiteDocumentStore(writer: database)
        let chats = SQLiteStore(writer: database)
        let birds = try await chats.createWorkspace(Workspace(name: "Birds", slug: ""))
        let trains = try await chats.createWorkspace(Workspace(name: "Trains", slug: ""))
        let old = HashingEmbedder(dimensions: 32), new = HashingEmbedder(dimensions: 64)
        func add(_ workspace: Workspace, _ name: String, _ text: String, embedder: (any Embedder)?) async throws {
            _ = try await DocumentIngestor(store: store, settings: DocumentSettings(), embedder: embedder)
                .ingest(workspaceId: workspace.id!, userId: nil, name: name, mime: "text/plain", data: Array(text.utf8))
        }
        try await add(birds, "kingfishers.txt", "Colourful kingfishers dive for fish.", embedder: old)
        try await add(birds, "owls.txt", "Owls hunt at night.", embedder: old)
        try await add(birds, "plain.txt", "Herons stand still in the shallows.", embedder: nil)
        try await add(trains, "trains.txt", "Trains leave the station hourly.", embedder: old)

        let retriever = DocumentRetriever(store: store, embedder: new)
        func vectorHits() async throws -> [ScoredChunk] {
            try await retriever.search(query: "colourful kingfishers", workspaceId: birds.id!, limit: 5, threshold: 0, mode: .vector)
        }
        // Vectors of another model are ignored until re-embedded.
        #expect(try await vectorHits().isEmpty)

        let quiet = ReembedProgress(label: "test", enabled: false)
        let reembed = DocumentsCommand.Reembed.self
        #expect(try await reembed.reembed(store: store, embedder: new, all: false, workspaceId: birds.id, batchSize: 2, progress: quiet) == 3,
                "the two of the old model and the one without a vector, in batches of two")
        let models = try await database.read { db in
            try Row.fetchAll(db, sql: "SELECT workspace_id, embedding_model FROM document_chunks ORDER BY id")
                .map { ($0["workspace_id"] as Int64, $0["embedding_model"] as String?) }
        }
        #expect(models.map(\.1) == ["hashing-64", "hashing-64", "hashing-64", "hashing-32"], "--workspace keeps to its workspace")

        // The cached index is reloaded (the revision moved) and ranks with the new vectors.
        let hits = try await vectorHits()
        #expect(hits.count == 3)
        #expect(hits.first?.documentName == "kingfishers.txt")
        #expect(hits.first?.vectorScore.map { $0 > 0.5 } == true)
        #expect(hits.first!.score > hits[1].score)

        #expect(try await reembed.reembed(store: store, embedder: new, all: false, workspaceId: birds.id, batchSize: 2, progress: quiet) == 0)
        #expect(try await reembed.reembed(store: store, embedder: new, all: false, workspaceId: nil, batchSize: 64, progress: quiet) == 1)
        #expect(try await reembed.reembed(store: store, embedder: new, all: true, workspaceId: nil, batchSize: 64, progress: quiet) == 4)
    }
}
