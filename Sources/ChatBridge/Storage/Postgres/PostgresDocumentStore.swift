import Foundation
import GRDB

/// Workspace documents and their retrieval index in PostgreSQL: the chunks' generated `tsvector`
/// (the `simple` configuration: no stemming, since ``LexicalQuery`` stems its terms and matches
/// them as word prefixes, `term:*`) with a GIN index, ranked by `ts_rank_cd`.
public final class PostgresDocumentStore: DocumentIndexStore {
    public let database: PostgresDatabase

    public init(database: PostgresDatabase) {
        self.database = database
    }

    /// The viewer's rows of `documents d` in the workspace.
    private func visible(_ workspaceId: Int64, _ viewer: Viewer) -> (String, [(any DatabaseValueConvertible)?]) {
        viewer.isAdmin
            ? ("d.workspace_id = ?", [workspaceId])
            : ("d.workspace_id = ? AND d.user_id IS NOT DISTINCT FROM ?", [workspaceId, viewer.userId])
    }

    public func addDocument(_ document: Document, chunks: [DocumentChunk]) async throws -> Document {
        try await database.transaction { db in
            var document = document
            document.chunkCount = chunks.count
            document = try await db.insert(document)
            // Chunks go in multi-row INSERTs: one round trip per hundred rather than per chunk.
            for batch in stride(from: 0, to: chunks.count, by: 100) {
                var statement = PostgresStatement(
                    "INSERT INTO document_chunks (document_id, workspace_id, position, heading, text, embedding, embedding_model) VALUES ")
                for (offset, chunk) in chunks[batch..<min(batch + 100, chunks.count)].enumerated() {
                    statement.append((offset == 0 ? "" : ", ") + "(?, ?, ?, ?, ?, ?, ?)",
                                     [document.id, document.workspaceId, chunk.position, chunk.heading, chunk.text,
                                      chunk.embedding, chunk.embeddingModel])
                }
                _ = try await db.rows(statement)
            }
            return document
        }
    }

    public func documents(workspaceId: Int64, viewer: Viewer) async throws -> [Document] {
        let (condition, arguments) = visible(workspaceId, viewer)
        return try await database.records(Document.self, """
            SELECT d.id, d.workspace_id, d.user_id, d.name, d.mime, d.size, d.pinned, '' AS text, d.chunk_count,
                   d.created_at, d.updated_at
            FROM documents d WHERE \(condition) ORDER BY d.id
            """, arguments)
    }

    public func document(id: Int64, workspaceId: Int64, viewer: Viewer) async throws -> Document? {
        let (condition, arguments) = visible(workspaceId, viewer)
        return try await database.records(Document.self, "SELECT d.* FROM documents d WHERE \(condition) AND d.id = ?",
                                          arguments + [id]).first
    }

    public func deleteDocument(id: Int64, workspaceId: Int64, viewer: Viewer) async throws -> Bool {
        let (condition, arguments) = visible(workspaceId, viewer)
        return try await !database.fetchAll("DELETE FROM documents d WHERE \(condition) AND d.id = ? RETURNING d.id",
                                            arguments + [id]).isEmpty
    }

    public func setPinned(id: Int64, workspaceId: Int64, pinned: Bool, viewer: Viewer) async throws -> Document? {
        let (condition, arguments) = visible(workspaceId, viewer)
        return try await database.records(Document.self, """
            UPDATE documents d SET pinned = ?, updated_at = ? WHERE \(condition) AND d.id = ? RETURNING d.*
            """, [pinned, Timestamp.now()] + arguments + [id]).first
    }

    public func chunks(documentId: Int64) async throws -> [DocumentChunk] {
        try await database.records(DocumentChunk.self, """
            SELECT id, document_id, workspace_id, position, heading, text, embedding, embedding_model
            FROM document_chunks WHERE document_id = ? ORDER BY position
            """, [documentId])
    }

    public func workspace(id: Int64) async throws -> Workspace? {
        try await database.records(Workspace.self, "SELECT * FROM workspaces WHERE id = ?", [id]).first
    }

    // MARK: Retrieval

    /// The `tsquery` of the terms: any of them, each a word prefix (or a whole short word). Terms are
    /// letters and digits only (``LexicalQuery/words(_:)``), so they cannot be tsquery syntax.
    static func tsQuery(_ stems: [String]) -> String {
        stems.map(termQuery).joined(separator: " | ")
    }

    static func termQuery(_ stem: String) -> String {
        stem.count < LexicalQuery.minimumPrefixLength ? "'\(stem)'" : "'\(stem)':*"
    }

    public func lexicalCandidates(_ terms: LexicalQuery, workspaceId: Int64, ownerId: Int64?, after last: ScoredChunk?,
                                  limit: Int) async throws -> [LexicalCandidate] {
        var statement = PostgresStatement("""
            SELECT c.id, c.heading, c.text, -ts_rank_cd(c.search, q.query)::float8 AS rank
            FROM document_chunks c JOIN documents d ON d.id = c.document_id, to_tsquery('simple', ?) AS q(query)
            WHERE c.search @@ q.query AND d.workspace_id = ? AND d.user_id IS NOT DISTINCT FROM ?
            """, [Self.tsQuery(terms.stems), workspaceId, ownerId])
        if let last {
            // The pinned passages in context are exactly those up to `last` in (document, position) order.
            statement.append(" AND (NOT d.pinned OR (d.id, c.position) > (?, ?))", [last.documentId, last.position])
        }
        statement.append(" ORDER BY rank, c.id LIMIT ?", [limit])
        return try await database.fetchAll(statement).map { row in
            LexicalCandidate(id: row["id"], heading: row["heading"], text: row["text"], rank: row["rank"])
        }
    }

    public func termFrequencies(_ terms: LexicalQuery, workspaceId: Int64, ownerId: Int64?) async throws -> (total: Int, frequencies: [Int]) {
        let total = try await database.scalar(Int.self, """
            SELECT coalesce(sum(chunk_count), 0)::bigint FROM documents WHERE workspace_id = ? AND user_id IS NOT DISTINCT FROM ?
            """, [workspaceId, ownerId]) ?? 0
        guard !terms.stems.isEmpty else { return (total, []) }
        // One scan for every term's count.
        let counts = terms.stems.map { _ in "count(*) FILTER (WHERE c.search @@ to_tsquery('simple', ?))" }
        var statement = PostgresStatement("SELECT " + counts.joined(separator: ", "), terms.stems.map(Self.termQuery))
        statement.append("""
             FROM document_chunks c JOIN documents d ON d.id = c.document_id
            WHERE c.search @@ to_tsquery('simple', ?) AND d.workspace_id = ? AND d.user_id IS NOT DISTINCT FROM ?
            """, [Self.tsQuery(terms.stems), workspaceId, ownerId])
        guard let row = try await database.fetchAll(statement).first else { return (total, terms.stems.map { _ in 0 }) }
        return (total, row.databaseValues.map { Int.fromDatabaseValue($0) ?? 0 })
    }

    public func chunkDetails(ids: [Int64]) async throws -> [ScoredChunk] {
        guard !ids.isEmpty else { return [] }
        var statement = PostgresStatement("""
            SELECT c.id, c.document_id, c.position, c.heading, c.text, d.name
            FROM document_chunks c JOIN documents d ON d.id = c.document_id WHERE c.id IN (
            """)
        statement.append(ids.map { _ in "?" }.joined(separator: ", ") + ")", ids)
        return try await database.fetchAll(statement).map { ScoredChunk(row: $0, score: 0) }
    }

    public func pinnedChunks(workspaceId: Int64, ownerId: Int64?, budget: Int) async throws -> [ScoredChunk] {
        var budget = budget
        var chunks: [ScoredChunk] = []
        var after: (documentId: Int64, position: Int) = (0, -1)
        // Pages of passages, stopping at the first that does not fit: a pinned document may be far
        // larger than any context.
        while true {
            let rows = try await database.fetchAll("""
                SELECT c.id, c.document_id, c.position, c.heading, c.text, d.name
                FROM documents d JOIN document_chunks c ON c.document_id = d.id
                WHERE d.workspace_id = ? AND d.user_id IS NOT DISTINCT FROM ? AND d.pinned AND (d.id, c.position) > (?, ?)
                ORDER BY d.id, c.position LIMIT 32
                """, [workspaceId, ownerId, after.documentId, after.position])
            for row in rows {
                let chunk = ScoredChunk(row: row, score: 1)
                guard chunk.contextCost <= budget else { return chunks }
                budget -= chunk.contextCost
                chunks.append(chunk)
                after = (chunk.documentId, chunk.position)
            }
            if rows.count < 32 { return chunks }
        }
    }

    public func documentIds(workspaceId: Int64, ownerId: Int64?) async throws -> Set<Int64> {
        Set(try await database.fetchAll("SELECT id FROM documents WHERE workspace_id = ? AND user_id IS NOT DISTINCT FROM ?",
                                        [workspaceId, ownerId]).map { $0[0] as Int64 })
    }

    public func indexRevision(workspaceId: Int64) async throws -> Int64 {
        try await database.scalar(Int64.self, "SELECT revision FROM document_index_revisions WHERE workspace_id = ?", [workspaceId]) ?? 0
    }

    public func vectors(workspaceId: Int64, model: String) async throws -> [(id: Int64, documentId: Int64, vector: [Float])] {
        try await database.fetchAll("""
            SELECT id, document_id, embedding FROM document_chunks
            WHERE workspace_id = ? AND embedding IS NOT NULL AND embedding_model = ? ORDER BY id
            """, [workspaceId, model]).map { row in (row["id"], row["document_id"], VectorMath.vector(row["embedding"])) }
    }

    // MARK: Re-embedding

    public func chunksToEmbed(model: String, all: Bool, workspaceId: Int64?, afterId: Int64, limit: Int) async throws -> [DocumentChunk] {
        var statement = PostgresStatement("""
            SELECT id, document_id, workspace_id, position, heading, text, embedding, embedding_model
            FROM document_chunks WHERE id > ?
            """, [afterId])
        if !all { statement.append(" AND (embedding IS NULL OR embedding_model IS DISTINCT FROM ?)", [model]) }
        if let workspaceId { statement.append(" AND workspace_id = ?", [workspaceId]) }
        statement.append(" ORDER BY id LIMIT ?", [limit])
        return try await database.fetchAll(statement).map { try DocumentChunk(row: $0) }
    }

    public func countChunksToEmbed(model: String, all: Bool, workspaceId: Int64?) async throws -> Int {
        var statement = PostgresStatement("SELECT count(*) FROM document_chunks WHERE true")
        if !all { statement.append(" AND (embedding IS NULL OR embedding_model IS DISTINCT FROM ?)", [model]) }
        if let workspaceId { statement.append(" AND workspace_id = ?", [workspaceId]) }
        return try await database.fetchAll(statement).first.map { $0[0] as Int } ?? 0
    }

    public func setEmbeddings(_ vectors: [(id: Int64, vector: [Float])], model: String) async throws {
        try await database.transaction { db in
            for (id, vector) in vectors {
                try await db.execute("UPDATE document_chunks SET embedding = ?, embedding_model = ? WHERE id = ?",
                                     [VectorMath.blob(VectorMath.normalized(vector)), model, id])
            }
        }
    }
}
