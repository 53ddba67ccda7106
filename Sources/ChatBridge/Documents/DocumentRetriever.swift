import Foundation
import GRDB
import Synchronization

/// The words of a query as retrieval sees them, and the rules that make its 0–1 lexical score.
///
/// Words are lowercased, diacritics folded, split on anything but letters and digits (as SQLite's
/// `unicode61` tokenizer does); English stop words are dropped; each remaining word is lightly
/// stemmed (`policies` → `polic`) and matched as a word prefix (`polic*` finds policy and policies),
/// both by FTS5 and by the Swift check of which words a passage contains.
public struct LexicalQuery: Sendable, Equatable {
    public var stems: [String]

    public init(_ text: String, maxTerms: Int = 16) {
        var seen = Set<String>()
        var stems: [String] = []
        for word in Self.words(text) where !Self.stopWords.contains(word) {
            let stem = Self.stem(word)
            if seen.insert(stem).inserted { stems.append(stem) }
            if stems.count == maxTerms { break }
        }
        self.stems = stems
    }

    /// The FTS5 expression matching a passage with any of the terms.
    public var matchExpression: String {
        stems.map { "\"\($0)\"*" }.joined(separator: " OR ")
    }

    public static func words(_ text: String) -> [String] {
        text.folding(options: [.caseInsensitive, .diacriticInsensitive], locale: nil)
            .split(whereSeparator: { !($0.isLetter || $0.isNumber) })
            .map(String.init)
    }

    static func stem(_ word: String) -> String {
        guard word.count > 4, word.allSatisfy(\.isLetter) else { return word }
        for suffix in ["ies", "ing", "es", "ed", "ly", "s"] where word.hasSuffix(suffix) {
            if suffix == "s" && word.hasSuffix("ss") { break }
            let stem = String(word.dropLast(suffix.count))
            return stem.count >= 3 ? stem : word
        }
        return word
    }

    /// Which terms the passage contains (its words starting with the term).
    func matched(in text: String) -> [Bool] {
        let words = Set(Self.words(text))
        return stems.map { stem in words.contains { $0.hasPrefix(stem) } }
    }

    static let stopWords: Set<String> = [
        "a", "about", "above", "after", "again", "all", "am", "an", "and", "any", "are", "as", "at", "be", "because",
        "been", "before", "being", "below", "between", "both", "but", "by", "can", "could", "did", "do", "does", "doing",
        "down", "during", "each", "few", "for", "from", "further", "had", "has", "have", "having", "he", "her", "here",
        "hers", "him", "his", "how", "i", "if", "in", "into", "is", "it", "its", "just", "me", "more", "most", "my", "no",
        "nor", "not", "now", "of", "off", "on", "once", "only", "or", "other", "our", "out", "over", "own", "same", "she",
        "should", "so", "some", "such", "than", "that", "the", "their", "them", "then", "there", "these", "they", "this",
        "those", "through", "to", "too", "under", "until", "up", "very", "was", "we", "were", "what", "when", "where",
        "which", "while", "who", "whom", "why", "will", "with", "would", "you", "your", "tell", "please", "s", "t", "many",
        "much", "also", "may", "might", "must", "shall", "get", "got", "one", "us", "know", "give",
    ]
}

/// A passage with how well it matches a query.
public struct ScoredChunk: Sendable, Equatable {
    public var chunkId: Int64
    public var documentId: Int64
    public var documentName: String
    public var heading: String?
    public var text: String
    /// 0–1: the larger of the lexical score and the cosine similarity (see ``DocumentRetriever``).
    public var score: Double
    public var lexicalScore: Double?
    public var vectorScore: Double?

    public var source: ChatSource {
        ChatSource(title: documentName, chunk: text, score: (score * 10_000).rounded() / 10_000, documentId: documentId)
    }
}

/// Document search for tools: the workspace is looked up by id.
public protocol DocumentSearching: Sendable {
    /// The best passages of the workspace's documents for `query` whose score passes the
    /// workspace's `similarity_threshold`, at most `limit`.
    func searchDocuments(query: String, workspaceId: Int64, limit: Int) async throws -> [ScoredChunk]
}

/// Retrieval over workspace documents: BM25 through FTS5, cosine similarity over float32 vectors
/// in Swift when an embedding model is configured, and reciprocal-rank fusion of the two.
///
/// **Scores** are 0–1 so a workspace's `similarity_threshold` means the same with or without a model:
/// * lexical score = the IDF-weighted share of the query's (non-stop) words that the passage
///   contains, `Σ idf(matched) / Σ idf(all)` with `idf = ln(1 + (N − n + 0.5)/(n + 0.5))` over the
///   workspace's N passages. 1 means every word is there; a word absent from the workspace weighs
///   most, so a question about something the documents never mention scores low. Passages are
///   ranked by this score, then by FTS5's BM25.
/// * vector score = cosine similarity of the passage and the question (negative counts as 0).
/// * hybrid: the ranking is reciprocal-rank fusion (`Σ 1/(60 + rank)`) of both lists; a passage's
///   score is the larger of its two scores, and it passes when that reaches the threshold.
///
/// ``retrieve(query:workspace:)`` returns the chunks of pinned documents first (score 1, in
/// document and position order), then the best `top_n` passing passages, while their text fits in
/// `contextCharacters`.
public final class DocumentRetriever: Retriever, DocumentSearching {
    public let store: SQLiteDocumentStore
    public let embedder: (any Embedder)?
    public let contextCharacters: Int
    /// How many lexical candidates are scored per query.
    public let candidateLimit: Int
    static let fusionK = 60.0

    private let cache = Mutex<[Int64: VectorIndex]>([:])

    public init(store: SQLiteDocumentStore, embedder: (any Embedder)? = nil, contextCharacters: Int = 12_000,
                candidateLimit: Int = 100) {
        self.store = store
        self.embedder = embedder
        self.contextCharacters = contextCharacters
        self.candidateLimit = candidateLimit
    }

    public convenience init(writer: any DatabaseWriter) {
        self.init(store: SQLiteDocumentStore(writer: writer))
    }

    // MARK: Retriever

    public func retrieve(query: String, workspace: Workspace) async throws -> [RetrievedChunk] {
        guard let workspaceId = workspace.id else { return [] }
        var budget = contextCharacters
        var results: [RetrievedChunk] = []
        var included = Set<Int64>()
        for hit in try await pinnedChunks(workspaceId: workspaceId) {
            guard hit.text.count <= budget else { break }
            budget -= hit.text.count
            included.insert(hit.chunkId)
            results.append(RetrievedChunk(source: hit.source, pinned: true))
        }
        let ranked = try await search(query: query, workspaceId: workspaceId, limit: max(workspace.topN, 0) + included.count,
                                      threshold: workspace.similarityThreshold)
        var added = 0
        for hit in ranked where added < workspace.topN && !included.contains(hit.chunkId) {
            guard hit.text.count <= budget else { continue }
            budget -= hit.text.count
            added += 1
            results.append(RetrievedChunk(source: hit.source))
        }
        return results
    }

    public func searchDocuments(query: String, workspaceId: Int64, limit: Int) async throws -> [ScoredChunk] {
        guard let workspace = try await store.workspace(id: workspaceId) else { return [] }
        return try await search(query: query, workspaceId: workspaceId, limit: limit, threshold: workspace.similarityThreshold)
    }

    // MARK: Search

    /// The best `limit` passages scoring at least `threshold`, best first.
    public func search(query: String, workspaceId: Int64, limit: Int, threshold: Double,
                       mode: Mode = .automatic) async throws -> [ScoredChunk] {
        guard limit > 0 else { return [] }
        let lexical = mode == .vector ? [] : try await lexicalSearch(query: query, workspaceId: workspaceId)
        var vector: [(id: Int64, score: Double)] = []
        if mode != .lexical, let embedder, let index = try await vectorIndex(workspaceId: workspaceId, embedder: embedder),
           !query.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty {
            let queryVector = VectorMath.normalized(try await embedder.embed([query]).first ?? [])
            vector = index.top(queryVector, count: max(limit * 4, 50))
        }
        var lexicalById: [Int64: Lexical] = [:]
        for hit in lexical { lexicalById[hit.id] = hit }
        let vectorById = Dictionary(vector.map { ($0.id, $0.score) }, uniquingKeysWith: max)

        // Reciprocal-rank fusion; with one list it keeps that list's order.
        var fused: [Int64: Double] = [:]
        for (rank, hit) in lexical.enumerated() { fused[hit.id, default: 0] += 1 / (Self.fusionK + Double(rank + 1)) }
        for (rank, hit) in vector.enumerated() { fused[hit.id, default: 0] += 1 / (Self.fusionK + Double(rank + 1)) }
        let passing = fused.keys.filter { id in
            max(lexicalById[id]?.score ?? 0, vectorById[id] ?? 0) >= threshold
        }.sorted { a, b in
            fused[a]! != fused[b]! ? fused[a]! > fused[b]! : a < b
        }.prefix(limit)
        guard !passing.isEmpty else { return [] }
        let details = try await chunkDetails(ids: Array(passing))
        return passing.compactMap { id in
            guard var hit = details[id] else { return nil }
            hit.lexicalScore = lexicalById[id]?.score
            hit.vectorScore = vectorById[id]
            hit.score = min(1, max(hit.lexicalScore ?? 0, hit.vectorScore ?? 0))
            return hit
        }
    }

    public enum Mode: Sendable {
        /// Hybrid when an embedder is configured and the workspace has vectors, else lexical.
        case automatic
        case lexical
        case vector
    }

    struct Lexical {
        var id: Int64
        var score: Double
        var bm25: Double
    }

    /// Lexical candidates with their 0–1 score, best first.
    func lexicalSearch(query: String, workspaceId: Int64) async throws -> [Lexical] {
        let terms = LexicalQuery(query)
        guard !terms.stems.isEmpty else { return [] }
        let limit = candidateLimit
        return try await store.writer.read { db in
            let rows = try Row.fetchAll(db, sql: """
                SELECT c.id, c.heading, c.text, bm25(document_chunks_fts) AS rank
                FROM document_chunks_fts JOIN document_chunks c ON c.id = document_chunks_fts.rowid
                WHERE document_chunks_fts MATCH ? AND c.workspace_id = ?
                ORDER BY rank LIMIT ?
                """, arguments: [terms.matchExpression, workspaceId, limit])
            guard !rows.isEmpty else { return [] }
            let total = Double(try Int.fetchOne(db, sql: "SELECT count(*) FROM document_chunks WHERE workspace_id = ?",
                                                arguments: [workspaceId]) ?? 0)
            let weights = try terms.stems.map { stem -> Double in
                let frequency = Double(try Int.fetchOne(db, sql: """
                    SELECT count(*) FROM document_chunks_fts JOIN document_chunks c ON c.id = document_chunks_fts.rowid
                    WHERE document_chunks_fts MATCH ? AND c.workspace_id = ?
                    """, arguments: ["\"\(stem)\"*", workspaceId]) ?? 0)
                return log(1 + (total - frequency + 0.5) / (frequency + 0.5))
            }
            let weightSum = weights.reduce(0, +)
            var hits = rows.map { row -> Lexical in
                let text = ((row["heading"] as String?).map { $0 + "\n" } ?? "") + (row["text"] as String)
                let matched = zip(terms.matched(in: text), weights).reduce(0.0) { $0 + ($1.0 ? $1.1 : 0) }
                return Lexical(id: row["id"], score: weightSum > 0 ? matched / weightSum : 0, bm25: row["rank"])
            }
            hits.sort { $0.score != $1.score ? $0.score > $1.score : $0.bm25 < $1.bm25 }
            return hits
        }
    }

    func chunkDetails(ids: [Int64]) async throws -> [Int64: ScoredChunk] {
        try await store.writer.read { db in
            let rows = try Row.fetchAll(db, sql: """
                SELECT c.id, c.document_id, c.heading, c.text, d.name
                FROM document_chunks c JOIN documents d ON d.id = c.document_id
                WHERE c.id IN (\(ids.map { _ in "?" }.joined(separator: ",")))
                """, arguments: StatementArguments(ids))
            var details: [Int64: ScoredChunk] = [:]
            for row in rows {
                details[row["id"]] = ScoredChunk(chunkId: row["id"], documentId: row["document_id"], documentName: row["name"],
                                                 heading: row["heading"], text: row["text"], score: 0)
            }
            return details
        }
    }

    func pinnedChunks(workspaceId: Int64) async throws -> [ScoredChunk] {
        try await store.writer.read { db in
            try Row.fetchAll(db, sql: """
                SELECT c.id, c.document_id, c.heading, c.text, d.name
                FROM documents d JOIN document_chunks c ON c.document_id = d.id
                WHERE d.workspace_id = ? AND d.pinned
                ORDER BY d.id, c.position
                """, arguments: [workspaceId]).map { row in
                ScoredChunk(chunkId: row["id"], documentId: row["document_id"], documentName: row["name"],
                            heading: row["heading"], text: row["text"], score: 1)
            }
        }
    }

    // MARK: Vectors

    /// The workspace's vectors of the embedder's model, from memory unless chunks changed since.
    func vectorIndex(workspaceId: Int64, embedder: any Embedder) async throws -> VectorIndex? {
        let revision = try await store.writer.read { db in
            try Int64.fetchOne(db, sql: "SELECT revision FROM document_index_revisions WHERE workspace_id = ?",
                               arguments: [workspaceId]) ?? 0
        }
        if let cached = cache.withLock({ $0[workspaceId] }), cached.revision == revision, cached.model == embedder.model {
            return cached.isEmpty ? nil : cached
        }
        let model = embedder.model
        let index = try await store.writer.read { db in
            var ids: [Int64] = []
            var values: [Float] = []
            var dimensions = 0
            let cursor = try Row.fetchCursor(db, sql: """
                SELECT id, embedding FROM document_chunks
                WHERE workspace_id = ? AND embedding IS NOT NULL AND embedding_model = ? ORDER BY id
                """, arguments: [workspaceId, model])
            while let row = try cursor.next() {
                let vector = VectorMath.vector(row["embedding"])
                if dimensions == 0 { dimensions = vector.count }
                guard vector.count == dimensions else { continue }
                ids.append(row["id"])
                values += vector
            }
            return VectorIndex(revision: revision, model: model, ids: ids, dimensions: dimensions, values: values)
        }
        cache.withLock { $0[workspaceId] = index }
        return index.isEmpty ? nil : index
    }

    // MARK: Agents

    /// Makes `retriever` the one tools find for `store` (see ``attached(to:)``).
    public static func attach(_ retriever: DocumentRetriever, to store: AnyObject) {
        registry.withLock { entries in
            entries = entries.filter { $0.value.store != nil && $0.value.retriever != nil }
            entries[ObjectIdentifier(store)] = Registration(store: store, retriever: retriever)
        }
    }

    /// The retriever serving the documents of `store`'s database, so tools search exactly as chats do.
    public static func attached(to store: any ChatStore) -> DocumentRetriever? {
        let key = ObjectIdentifier(store as AnyObject)
        return registry.withLock { entries in
            guard let entry = entries[key], entry.store === (store as AnyObject) else { return nil }
            return entry.retriever
        }
    }

    private struct Registration: @unchecked Sendable {
        weak var store: AnyObject?
        weak var retriever: DocumentRetriever?
    }

    private static let registry = Mutex<[ObjectIdentifier: Registration]>([:])
}

/// Vectors of one workspace in one flat array, for cosine top-k by dot products (vectors are unit length).
struct VectorIndex: Sendable {
    var revision: Int64
    var model: String
    var ids: [Int64]
    var dimensions: Int
    var values: [Float]

    var isEmpty: Bool { ids.isEmpty }

    func top(_ query: [Float], count: Int) -> [(id: Int64, score: Double)] {
        guard query.count == dimensions, dimensions > 0 else { return [] }
        var best: [(id: Int64, score: Float)] = []
        best.reserveCapacity(count + 1)
        var floor = -Float.infinity
        values.withUnsafeBufferPointer { all in
            query.withUnsafeBufferPointer { q in
                for row in 0..<ids.count {
                    let base = row * dimensions
                    var dot: Float = 0
                    for column in 0..<dimensions { dot += all[base + column] * q[column] }
                    guard best.count < count || dot > floor else { continue }
                    let position = best.firstIndex { $0.score < dot } ?? best.count
                    best.insert((ids[row], dot), at: position)
                    if best.count > count { best.removeLast() }
                    floor = best.count == count ? best[best.count - 1].score : -.infinity
                }
            }
        }
        return best.map { ($0.id, Double(max($0.score, 0))) }
    }
}
