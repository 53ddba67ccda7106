import Foundation
import GRDB

/// What retrieval and re-embedding read and write besides the documents themselves: the seam the
/// SQLite (FTS5) and PostgreSQL (`tsvector`) backends implement for ``DocumentRetriever``.
public protocol DocumentIndexStore: DocumentStore {
    func workspace(id: Int64) async throws -> Workspace?

    /// Up to `limit` passages of the owner's documents in the workspace matching any of `terms`
    /// (word prefixes, see ``LexicalQuery``), best full-text rank first (`rank`: smaller is better),
    /// leaving out the pinned passages up to `after` in (document, position) order.
    func lexicalCandidates(_ terms: LexicalQuery, workspaceId: Int64, ownerId: Int64?, after pinned: ScoredChunk?,
                           limit: Int) async throws -> [LexicalCandidate]
    /// How many passages the owner has in the workspace, and how many contain each term.
    func termFrequencies(_ terms: LexicalQuery, workspaceId: Int64, ownerId: Int64?) async throws -> (total: Int, frequencies: [Int])
    /// The passages with these ids (score 0).
    func chunkDetails(ids: [Int64]) async throws -> [ScoredChunk]
    /// The owner's pinned passages in document and position order while they fit in `budget`
    /// characters, read row by row and no further.
    func pinnedChunks(workspaceId: Int64, ownerId: Int64?, budget: Int) async throws -> [ScoredChunk]
    /// The ids of the owner's documents in the workspace.
    func documentIds(workspaceId: Int64, ownerId: Int64?) async throws -> Set<Int64>
    /// A counter that changes whenever the workspace's passages or vectors change.
    func indexRevision(workspaceId: Int64) async throws -> Int64
    /// Every vector of `model` in the workspace, in chunk id order.
    func vectors(workspaceId: Int64, model: String) async throws -> [(id: Int64, documentId: Int64, vector: [Float])]

    // Re-embedding
    /// Up to `limit` chunks after `afterId` whose vector is missing or from another model than `model`
    /// (every chunk when `all`), of one workspace or all.
    func chunksToEmbed(model: String, all: Bool, workspaceId: Int64?, afterId: Int64, limit: Int) async throws -> [DocumentChunk]
    func countChunksToEmbed(model: String, all: Bool, workspaceId: Int64?) async throws -> Int
    func setEmbeddings(_ vectors: [(id: Int64, vector: [Float])], model: String) async throws
}

/// A passage the full-text index found, before scoring.
public struct LexicalCandidate: Sendable {
    public var id: Int64
    public var heading: String?
    public var text: String
    /// The index's own rank (FTS5 bm25, or `-ts_rank_cd`): smaller is better.
    public var rank: Double
}

extension SQLiteDocumentStore: DocumentIndexStore {
    public func lexicalCandidates(_ terms: LexicalQuery, workspaceId: Int64, ownerId: Int64?, after last: ScoredChunk?,
                                  limit: Int) async throws -> [LexicalCandidate] {
        try await writer.read { db in
            var sql = """
                SELECT c.id, c.heading, c.text, bm25(document_chunks_fts) AS rank
                FROM document_chunks_fts
                JOIN document_chunks c ON c.id = document_chunks_fts.rowid
                JOIN documents d ON d.id = c.document_id
                WHERE document_chunks_fts MATCH ? AND d.workspace_id = ? AND d.user_id IS ?
                """
            var arguments: StatementArguments = [terms.matchExpression, workspaceId, ownerId]
            if let last {
                // The pinned passages in context are exactly those up to `last` in (document, position) order.
                sql += " AND (NOT d.pinned OR (d.id, c.position) > (?, ?))"
                arguments += [last.documentId, last.position]
            }
            sql += " ORDER BY rank LIMIT ?"
            arguments += [limit]
            return try Row.fetchAll(db, sql: sql, arguments: arguments).map { row in
                LexicalCandidate(id: row["id"], heading: row["heading"], text: row["text"], rank: row["rank"])
            }
        }
    }

    public func termFrequencies(_ terms: LexicalQuery, workspaceId: Int64, ownerId: Int64?) async throws -> (total: Int, frequencies: [Int]) {
        try await writer.read { db in
            // Prepared once per connection: every chat asks these before its model is called.
            let total = try Int.fetchOne(db.cachedStatement(sql: """
                SELECT coalesce(sum(chunk_count), 0) FROM documents WHERE workspace_id = ? AND user_id IS ?
                """), arguments: [workspaceId, ownerId]) ?? 0
            let frequencies = try terms.stems.map { stem in
                try Int.fetchOne(db.cachedStatement(sql: """
                    SELECT count(*) FROM document_chunks_fts
                    JOIN document_chunks c ON c.id = document_chunks_fts.rowid
                    JOIN documents d ON d.id = c.document_id
                    WHERE document_chunks_fts MATCH ? AND d.workspace_id = ? AND d.user_id IS ?
                    """), arguments: [LexicalQuery.expression(stem), workspaceId, ownerId]) ?? 0
            }
            return (total, frequencies)
        }
    }

    public func chunkDetails(ids: [Int64]) async throws -> [ScoredChunk] {
        guard !ids.isEmpty else { return [] }
        return try await writer.read { db in
            try Row.fetchAll(db, sql: """
                SELECT c.id, c.document_id, c.position, c.heading, c.text, d.name
                FROM document_chunks c JOIN documents d ON d.id = c.document_id
                WHERE c.id IN (\(ids.map { _ in "?" }.joined(separator: ",")))
                """, arguments: StatementArguments(ids)).map { ScoredChunk(row: $0, score: 0) }
        }
    }

    public func pinnedChunks(workspaceId: Int64, ownerId: Int64?, budget: Int) async throws -> [ScoredChunk] {
        try await writer.read { db in
            var budget = budget
            var chunks: [ScoredChunk] = []
            let cursor = try Row.fetchCursor(db, sql: """
                SELECT c.id, c.document_id, c.position, c.heading, c.text, d.name
                FROM documents d JOIN document_chunks c ON c.document_id = d.id
                WHERE d.workspace_id = ? AND d.user_id IS ? AND d.pinned
                ORDER BY d.id, c.position
                """, arguments: [workspaceId, ownerId])
            while let row = try cursor.next() {
                let chunk = ScoredChunk(row: row, score: 1)
                guard chunk.contextCost <= budget else { break }
                budget -= chunk.contextCost
                chunks.append(chunk)
            }
            return chunks
        }
    }

    public func documentIds(workspaceId: Int64, ownerId: Int64?) async throws -> Set<Int64> {
        try await writer.read { db in
            Set(try Int64.fetchAll(db, sql: "SELECT id FROM documents WHERE workspace_id = ? AND user_id IS ?",
                                   arguments: [workspaceId, ownerId]))
        }
    }

    public func indexRevision(workspaceId: Int64) async throws -> Int64 {
        try await writer.read { db in
            try Int64.fetchOne(db, sql: "SELECT revision FROM document_index_revisions WHERE workspace_id = ?",
                               arguments: [workspaceId]) ?? 0
        }
    }

    public func vectors(workspaceId: Int64, model: String) async throws -> [(id: Int64, documentId: Int64, vector: [Float])] {
        try await writer.read { db in
            var vectors: [(id: Int64, documentId: Int64, vector: [Float])] = []
            let cursor = try Row.fetchCursor(db, sql: """
                SELECT id, document_id, embedding FROM document_chunks
                WHERE workspace_id = ? AND embedding IS NOT NULL AND embedding_model = ? ORDER BY id
                """, arguments: [workspaceId, model])
            while let row = try cursor.next() {
                vectors.append((row["id"], row["document_id"], VectorMath.vector(row["embedding"])))
            }
            return vectors
        }
    }
}
