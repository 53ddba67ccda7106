import Foundation
import GRDB
import Synchronization
import Testing

@testable import ChatBridge

/// A hybrid search runs its two sides at once (issue 17): BM25 reads SQLite while the question is
/// embedded (often a request to a model) and the vectors are scanned, instead of one after the other.
@Suite("Hybrid retrieval runs BM25 beside the vector side")
struct HybridRankingConcurrencyTests {
    /// What the database's trace and the embedder share.
    final class Gate: Sendable {
        let armed = Mutex(false)
        let embedded = DispatchSemaphore(value: 0)
        /// For each full-text read: whether the question was embedded while it waited.
        let lexicalReads = Mutex<[Bool]>([])
    }

    /// Hashes as ``HashingEmbedder`` does, and once armed tells the gate it was asked.
    struct SignallingEmbedder: Embedder {
        let gate: Gate
        let inner = HashingEmbedder(dimensions: 32)
        var model: String { inner.model }

        func embed(_ inputs: [String]) async throws -> [[Float]] {
            if gate.armed.withLock({ $0 }) { gate.embedded.signal() }
            return try await inner.embed(inputs)
        }
    }

    /// The full-text read is held on its reader's thread until the question has been embedded: run
    /// one after the other, the read would wait for an embedding that only comes after it, and give
    /// up after 10 seconds.
    @Test func theFullTextReadDoesNotWaitForTheVectorSide() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("hybrid-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let gate = Gate()
        var configuration = AppDatabase.configuration(logger: nil)
        configuration.prepareDatabase { db in
            db.trace { event in
                guard case .statement(let statement) = event, statement.sql.contains("bm25(document_chunks_fts)"),
                      gate.armed.withLock({ $0 }) else { return }
                let inTime = gate.embedded.wait(timeout: .now() + 10) == .success
                gate.lexicalReads.withLock { $0.append(inTime) }
            }
        }
        // A pool, as in production: the two sides read on connections of their own.
        let pool = try DatabasePool(path: directory.appendingPathComponent("agenthost.sqlite").path, configuration: configuration)
        try AppDatabase.migrate(pool)
        let workspace = try await SQLiteStore(writer: pool).createWorkspace(Workspace(name: "Docs", slug: "docs"))
        let store = SQLiteDocumentStore(writer: pool)
        let embedder = SignallingEmbedder(gate: gate)
        for (name, text) in [("kites.txt", "The red kite nests in tall trees."), ("boats.txt", "Boats leave the harbour at dawn.")] {
            _ = try await DocumentIngestor(store: store, settings: DocumentSettings(), embedder: embedder)
                .ingest(workspaceId: workspace.id!, userId: nil, name: name, mime: "text/plain", data: Array(text.utf8))
        }

        gate.armed.withLock { $0 = true }
        let hits = try await DocumentRetriever(store: store, embedder: embedder)
            .search(query: "red kite", workspaceId: workspace.id!, limit: 5, threshold: 0.2)
        #expect(gate.lexicalReads.withLock { $0 } == [true])
        #expect(hits.first?.documentName == "kites.txt")
        #expect(hits.first?.lexicalScore != nil && hits.first?.vectorScore != nil)
        try pool.close()
    }
}
