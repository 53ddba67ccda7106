import Foundation
import GRDB
import Logging
import Synchronization

/// The words of a query as retrieval sees them, and the rules that make its 0–1 lexical score.
///
/// Words are lowercased, diacritics folded, split on anything but letters and digits (as SQLite's
/// `unicode61` tokenizer does); English stop words are dropped; each remaining word is lightly
/// stemmed (`policies` → `polic`) and matched as a word prefix (`polic*` finds policy and policies),
/// both by FTS5 and by the Swift check of which words a passage contains. Terms shorter than
/// ``minimumPrefixLength`` match whole words only: `5*` would match every 50, 512 and 5G.
public struct LexicalQuery: Sendable, Equatable {
    public var stems: [String]
    /// The shortest term matched as a prefix.
    public static let minimumPrefixLength = 3

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
        stems.map(Self.expression).joined(separator: " OR ")
    }

    /// The FTS5 expression of one term: a word prefix, or the whole word when the term is short.
    static func expression(_ stem: String) -> String {
        // Terms are letters and digits only (see `words`), so quoting cannot be broken out of.
        stem.count < minimumPrefixLength ? "\"\(stem)\"" : "\"\(stem)\"*"
    }

    /// Whether a passage word counts as the term, exactly as ``expression(_:)`` has FTS5 match it.
    static func word(_ word: String, matches stem: String) -> Bool {
        stem.count < minimumPrefixLength ? word == stem : word.hasPrefix(stem)
    }

    public static func words(_ text: String) -> [String] {
        // Scalar by scalar, with unicode61's token classes (letters, digits, private use), lowercasing
        // ASCII directly and leaving Foundation's folding to the rare word with other letters: this runs
        // over every candidate passage of every question, where folding whole passages was most of the time.
        var words: [String] = []
        var word = String.UnicodeScalarView()
        var isASCII = true
        func flush() {
            guard !word.isEmpty else { return }
            if isASCII {
                words.append(String(word))
            } else {
                // Folding may leave a separator (a mark it cannot fold): split again.
                words += String(word).folding(options: [.caseInsensitive, .diacriticInsensitive], locale: nil)
                    .unicodeScalars.split { !SearchQueryParser.isTokenCharacter($0) }.map { String(String.UnicodeScalarView($0)) }
            }
            word = String.UnicodeScalarView()
            isASCII = true
        }
        for scalar in text.unicodeScalars {
            if scalar.isASCII {
                let value = scalar.value
                if (0x41...0x5A).contains(value) {
                    word.append(Unicode.Scalar(UInt8(value + 0x20)))
                } else if (0x61...0x7A).contains(value) || (0x30...0x39).contains(value) {
                    word.append(scalar)
                } else {
                    flush()
                }
            } else if SearchQueryParser.isTokenCharacter(scalar) {
                word.append(scalar)
                isASCII = false
            } else if !word.isEmpty, Self.isMark(scalar) {
                word.append(scalar)  // a combining accent of the letter before it: folded away with the word
                isASCII = false
            } else {
                flush()
            }
        }
        flush()
        return words
    }

    private static func isMark(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.properties.generalCategory {
        case .nonspacingMark, .spacingMark, .enclosingMark: true
        default: false
        }
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

    /// Which terms the passage contains (its words starting with the term, or equal to a short one).
    func matched(in text: String) -> [Bool] {
        let words = Set(Self.words(text))
        return stems.map { stem in words.contains { Self.word($0, matches: stem) } }
    }

    /// The 0–1 lexical score of a passage: the `weights`-weighted share of the terms it contains.
    func score(_ text: String, weights: [Double]) -> Double {
        let total = weights.reduce(0, +)
        guard total > 0 else { return 0 }
        return zip(matched(in: text), weights).reduce(0.0) { $0 + ($1.0 ? $1.1 : 0) } / total
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
    /// 0-based order within the document.
    public var position: Int
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

    /// What lexical scoring reads of the passage: its heading counts as part of it.
    var searchableText: String {
        (heading.map { $0 + "\n" } ?? "") + text
    }
}

/// Document search for tools: the workspace is looked up by id.
public protocol DocumentSearching: Sendable {
    /// The best passages of the documents `ownerId` owns in the workspace for `query` whose score
    /// passes the workspace's `similarity_threshold`, at most `limit`. `ownerId` is matched as by
    /// ``Retriever/retrieve(query:workspace:ownerId:)``: `nil` means the documents without owner.
    func searchDocuments(query: String, workspaceId: Int64, ownerId: Int64?, limit: Int) async throws -> [ScoredChunk]
}

/// Retrieval over workspace documents: BM25 through FTS5, cosine similarity over the workspace's
/// vectors in memory (``VectorIndex``) when an embedding model is configured, and reciprocal-rank
/// fusion of the two.
///
/// **Ownership**: every search reads the documents of one owner only (`documents.user_id IS owner`):
/// lexical candidates, the IDF statistics (so others' documents do not even shift the scores),
/// pinned documents and vector candidates alike.
///
/// **Scores** are 0–1 so a workspace's `similarity_threshold` means the same with or without a model:
/// * lexical score = the IDF-weighted share of the query's (non-stop) words that the passage
///   contains, `Σ idf(matched) / Σ idf(all)` with `idf = ln(1 + (N − n + 0.5)/(n + 0.5))` over the
///   owner's N passages in the workspace. 1 means every word is there; a word absent from the
///   documents weighs most, so a question about something they never mention scores low. Passages
///   are ranked by this score, then by FTS5's BM25.
/// * vector score = cosine similarity of the passage and the question (negative counts as 0).
/// * hybrid: the ranking is reciprocal-rank fusion (`Σ 1/(60 + rank)`) of both lists; a passage's
///   score is the larger of its two scores, and it passes when that reaches the threshold.
///
/// When the embeddings provider fails at query time, the search logs a warning and goes on with
/// BM25 alone: a provider outage makes answers less grounded, not impossible.
///
/// ``retrieve(query:workspace:ownerId:)`` returns the chunks of the owner's pinned documents first
/// (score 1, in document and position order) while they fit in `contextCharacters`, then the best
/// `top_n` passing passages among the others that still fit.
public final class DocumentRetriever: Retriever, DocumentSearching {
    public let store: any DocumentIndexStore
    public let embedder: (any Embedder)?
    /// Characters of passages (text and heading) one context may hold.
    public let contextCharacters: Int
    /// How many lexical candidates are scored per query.
    public let candidateLimit: Int
    /// How many full-text matches the index ranks per query, about: the query's terms go into the
    /// candidate search rarest first while their passages fit (at least one term always does). A word
    /// found in most passages then costs nothing to rank; it still counts in every candidate's score.
    public let matchLimit: Int
    let logger: Logger
    static let fusionK = 60.0

    private let cache = Mutex<[Int64: VectorIndex]>([:])
    /// Passages per term, per scope, valid while the workspace's index revision and the scope's
    /// passage count stay the same (see ``termStatistics(_:scope:)``).
    private let frequencies = Mutex<[ScopeKey: TermStatistics]>([:])

    public init(store: any DocumentIndexStore, embedder: (any Embedder)? = nil, contextCharacters: Int = 12_000,
                candidateLimit: Int = 100, matchLimit: Int = 2_000, logger: Logger = Logger(label: "agenthost.documents")) {
        self.store = store
        self.embedder = embedder
        self.contextCharacters = contextCharacters
        self.candidateLimit = candidateLimit
        self.matchLimit = matchLimit
        self.logger = logger
    }

    public convenience init(writer: any DatabaseWriter) {
        self.init(store: SQLiteDocumentStore(writer: writer))
    }

    /// Whose documents of which workspace a search reads.
    struct Scope: Sendable {
        var workspaceId: Int64
        /// Compared with SQL `IS`, so `nil` is the documents without owner.
        var ownerId: Int64?
    }

    // MARK: Retriever

    public func retrieve(query: String, workspace: Workspace, ownerId: Int64?) async throws -> Retrieval {
        guard let workspaceId = workspace.id else { return .empty }
        // A scope without a passage has nothing to pin or rank: one indexed read instead of the
        // ranking's five, before the model request of every chat in a workspace without documents.
        guard try await store.termFrequencies(LexicalQuery(""), workspaceId: workspaceId, ownerId: ownerId).total > 0 else {
            return .empty
        }
        let scope = Scope(workspaceId: workspaceId, ownerId: ownerId)
        let pinned = try await pinnedChunks(scope, budget: contextCharacters)
        var budget = contextCharacters - pinned.reduce(0) { $0 + $1.contextCost }
        var chunks = pinned.map { RetrievedChunk(source: $0.source, heading: $0.heading, pinned: true) }
        // Pinned passages already in context are left out of the ranking (in SQL), so `top_n` new
        // ones can come however large the pinned documents are.
        let topN = max(workspace.topN, 0)
        let ranking = try await rank(query: query, scope: scope, limit: topN, threshold: workspace.similarityThreshold,
                                     mode: .automatic, skipping: pinned)
        var added = 0
        for hit in ranking.hits where added < topN {
            guard hit.contextCost <= budget else { continue }
            budget -= hit.contextCost
            added += 1
            chunks.append(RetrievedChunk(source: hit.source, heading: hit.heading))
        }
        // Pinned passages are in context whatever the question; they count as a match only when
        // their own score passes, as if they had been ranked (checked only when nothing else matched).
        let matched = added > 0 || pinned.contains { ranking.score(of: $0) >= workspace.similarityThreshold }
        return Retrieval(chunks: chunks, matched: matched)
    }

    /// ``retrieve(query:workspace:ownerId:)`` over the documents without owner (single-user mode).
    public func retrieve(query: String, workspace: Workspace) async throws -> [RetrievedChunk] {
        try await retrieve(query: query, workspace: workspace, ownerId: nil).chunks
    }

    public func searchDocuments(query: String, workspaceId: Int64, ownerId: Int64?, limit: Int) async throws -> [ScoredChunk] {
        guard let workspace = try await store.workspace(id: workspaceId) else { return [] }
        return try await search(query: query, workspaceId: workspaceId, ownerId: ownerId, limit: limit,
                                threshold: workspace.similarityThreshold)
    }

    // MARK: Search

    /// The best `limit` passages of `ownerId`'s documents (pinned ones included) scoring at least
    /// `threshold`, best first. `ownerId` `nil` is the documents without owner (single-user mode).
    public func search(query: String, workspaceId: Int64, ownerId: Int64? = nil, limit: Int, threshold: Double,
                       mode: Mode = .automatic) async throws -> [ScoredChunk] {
        try await rank(query: query, scope: Scope(workspaceId: workspaceId, ownerId: ownerId), limit: limit,
                       threshold: threshold, mode: mode).hits
    }

    public enum Mode: Sendable {
        /// Hybrid when an embedder is configured and the workspace has vectors, else lexical.
        case automatic
        case lexical
        case vector
    }

    /// The hits of one search, with what is needed to score passages it did not rank (pinned ones).
    struct Ranking {
        var hits: [ScoredChunk]
        var terms: LexicalQuery
        var weights: [Double]
        var queryVector: [Float]?
        var index: VectorIndex?

        /// The 0–1 score `chunk` would have had in this search.
        func score(of chunk: ScoredChunk) -> Double {
            let lexical = terms.score(chunk.searchableText, weights: weights)
            let vector = queryVector.flatMap { index?.score(of: chunk.chunkId, query: $0) } ?? 0
            return min(1, max(lexical, vector))
        }
    }

    /// Ranks the passages of `scope`, leaving out `pinned` (a prefix, in document and position
    /// order, of the pinned passages), which must be the scope's.
    func rank(query: String, scope: Scope, limit: Int, threshold: Double, mode: Mode,
              skipping pinned: [ScoredChunk] = []) async throws -> Ranking {
        let terms = LexicalQuery(query)
        // The two rankings do not depend on each other: BM25 reads SQLite while the question is
        // embedded (often a request to a model) and the vectors are scanned.
        async let lexicalRanking = mode == .vector
            ? LexicalResult(hits: [], weights: [])
            : lexicalSearch(terms, scope: scope, after: pinned.last, needsWeights: !pinned.isEmpty)
        let similar = mode == .lexical
            ? nil
            : try await vectorSearch(query, scope: scope, count: max(limit * 4, 50), skipping: Set(pinned.map(\.chunkId)))
        let lexical = try await lexicalRanking
        var ranking = Ranking(hits: [], terms: terms, weights: lexical.weights, queryVector: similar?.queryVector,
                              index: similar?.index)
        let vector = similar?.hits ?? []
        var lexicalById: [Int64: Lexical] = [:]
        for hit in lexical.hits { lexicalById[hit.id] = hit }
        let vectorById = Dictionary(vector.map { ($0.id, $0.score) }, uniquingKeysWith: max)

        // Reciprocal-rank fusion; with one list it keeps that list's order.
        var fused: [Int64: Double] = [:]
        for (rank, hit) in lexical.hits.enumerated() { fused[hit.id, default: 0] += 1 / (Self.fusionK + Double(rank + 1)) }
        for (rank, hit) in vector.enumerated() { fused[hit.id, default: 0] += 1 / (Self.fusionK + Double(rank + 1)) }
        let passing = fused.keys.filter { id in
            max(lexicalById[id]?.score ?? 0, vectorById[id] ?? 0) >= threshold
        }.sorted { a, b in
            fused[a]! != fused[b]! ? fused[a]! > fused[b]! : a < b
        }.prefix(max(limit, 0))
        guard !passing.isEmpty else { return ranking }
        let details = try await chunkDetails(ids: Array(passing))
        ranking.hits = passing.compactMap { id in
            guard var hit = details[id] else { return nil }
            hit.lexicalScore = lexicalById[id]?.score
            hit.vectorScore = vectorById[id]
            hit.score = min(1, max(hit.lexicalScore ?? 0, hit.vectorScore ?? 0))
            return hit
        }
        return ranking
    }

    struct Lexical {
        var id: Int64
        var score: Double
        var bm25: Double
    }

    struct LexicalResult {
        /// Candidates with their 0–1 score, best first.
        var hits: [Lexical]
        /// The IDF weight of each term of the query, in order.
        var weights: [Double]
    }

    /// Lexical candidates of `scope` with their 0–1 score, best first, leaving out the pinned
    /// passages up to `last` (those already in context). The IDF weights are computed when there
    /// is a candidate or `needsWeights`.
    func lexicalSearch(_ terms: LexicalQuery, scope: Scope, after last: ScoredChunk?, needsWeights: Bool) async throws -> LexicalResult {
        guard !terms.stems.isEmpty else { return LexicalResult(hits: [], weights: []) }
        let (total, frequencies) = try await termStatistics(terms, scope: scope)
        let candidates = try await store.lexicalCandidates(candidateTerms(terms, frequencies: frequencies),
                                                           workspaceId: scope.workspaceId, ownerId: scope.ownerId,
                                                           after: last, limit: candidateLimit)
        guard !candidates.isEmpty || needsWeights else { return LexicalResult(hits: [], weights: []) }
        let weights = frequencies.map { frequency -> Double in
            log(1 + (max(Double(total - frequency), 0) + 0.5) / (Double(frequency) + 0.5))
        }
        var hits = candidates.map { candidate -> Lexical in
            let text = (candidate.heading.map { $0 + "\n" } ?? "") + candidate.text
            return Lexical(id: candidate.id, score: terms.score(text, weights: weights), bm25: candidate.rank)
        }
        hits.sort { $0.score != $1.score ? $0.score > $1.score : $0.bm25 < $1.bm25 }
        return LexicalResult(hits: hits, weights: weights)
    }

    /// The terms the candidate search matches: all of them when their passages fit in ``matchLimit``,
    /// else the rarest that fit (at least the rarest one). Ranking every passage of a common word was
    /// most of a query's time over a large workspace, and such passages rarely beat those holding the
    /// rare words of the question.
    func candidateTerms(_ terms: LexicalQuery, frequencies: [Int]) -> LexicalQuery {
        guard frequencies.reduce(0, +) > matchLimit else { return terms }
        var kept = Set<Int>()
        var matches = 0
        for index in terms.stems.indices.sorted(by: { frequencies[$0] < frequencies[$1] }) {
            guard kept.isEmpty || matches + frequencies[index] <= matchLimit else { break }
            kept.insert(index)
            matches += frequencies[index]
        }
        var candidates = terms
        // In the question's order, as FTS5 numbers the phrases.
        candidates.stems = terms.stems.indices.filter(kept.contains).map { terms.stems[$0] }
        return candidates
    }

    struct ScopeKey: Hashable {
        var workspaceId: Int64
        var ownerId: Int64?
    }

    /// Terms remembered per scope; past that the scope's cache starts over (bounds its memory).
    static let cachedTermsPerScope = 10_000

    struct TermStatistics {
        var revision: Int64
        var total: Int
        var counts: [String: Int]
    }

    /// How many passages the scope has and how many hold each term, counting only the terms not
    /// counted since the workspace's passages last changed: counting a common word's passages costs
    /// as much as ranking them. The cache also checks the scope's passage count, which moves when
    /// documents change owner (a deleted user) without their passages changing.
    func termStatistics(_ terms: LexicalQuery, scope: Scope) async throws -> (total: Int, frequencies: [Int]) {
        let key = ScopeKey(workspaceId: scope.workspaceId, ownerId: scope.ownerId)
        let revision = try await store.indexRevision(workspaceId: scope.workspaceId)
        let total = try await store.termFrequencies(LexicalQuery(""), workspaceId: scope.workspaceId, ownerId: scope.ownerId).total
        var known = frequencies.withLock { cache -> [String: Int] in
            guard let cached = cache[key], cached.revision == revision, cached.total == total else { return [:] }
            return cached.counts
        }
        var missing = terms
        missing.stems = terms.stems.filter { known[$0] == nil }
        if !missing.stems.isEmpty {
            let counted = try await store.termFrequencies(missing, workspaceId: scope.workspaceId, ownerId: scope.ownerId)
            for (stem, count) in zip(missing.stems, counted.frequencies) { known[stem] = count }
            let counts = known
            frequencies.withLock { cache in
                if let cached = cache[key], cached.revision == revision, cached.total == total,
                   cached.counts.count < Self.cachedTermsPerScope {
                    cache[key]?.counts.merge(counts) { _, new in new }
                } else {
                    cache[key] = TermStatistics(revision: revision, total: total, counts: counts)
                }
            }
        }
        return (total, terms.stems.map { known[$0] ?? 0 })
    }

    func chunkDetails(ids: [Int64]) async throws -> [Int64: ScoredChunk] {
        Dictionary(try await store.chunkDetails(ids: ids).map { ($0.chunkId, $0) }, uniquingKeysWith: { first, _ in first })
    }

    /// The passages of the scope's pinned documents, in document and position order, as long as
    /// they fit in `budget` characters. Read row by row and no further: a pinned document may be
    /// far larger than any context.
    func pinnedChunks(_ scope: Scope, budget: Int) async throws -> [ScoredChunk] {
        try await store.pinnedChunks(workspaceId: scope.workspaceId, ownerId: scope.ownerId, budget: budget)
    }

    /// The ids of the scope's documents, to keep vector candidates to them.
    func documentIds(_ scope: Scope) async throws -> Set<Int64> {
        try await store.documentIds(workspaceId: scope.workspaceId, ownerId: scope.ownerId)
    }

    // MARK: Vectors

    /// The question's unit vector, or `nil` when it is blank or the embeddings provider failed:
    /// then the search is lexical only (with a warning in the log) instead of failing the chat.
    func embed(query: String, with embedder: any Embedder) async throws -> [Float]? {
        guard !query.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else { return nil }
        do {
            return VectorMath.normalized(try await embedder.embed([query]).first ?? [])
        } catch {
            if error is CancellationError || Task.isCancelled { throw CancellationError() }
            logger.warning("embedding the question failed; searching documents with BM25 only", metadata: [
                "model": "\(embedder.model)", "error": "\(error)",
            ])
            return nil
        }
    }

    /// The vector side of a search: the `count` passages of `scope` closest to the question, with
    /// the question's vector and the index they came from (to score pinned passages later). `nil`
    /// without an embedder, without vectors, or when the question could not be embedded.
    func vectorSearch(_ query: String, scope: Scope, count: Int, skipping: Set<Int64>) async throws
        -> (hits: [(id: Int64, score: Double)], queryVector: [Float], index: VectorIndex)? {
        guard let embedder, let index = try await vectorIndex(workspaceId: scope.workspaceId, embedder: embedder),
              let queryVector = try await embed(query: query, with: embedder) else { return nil }
        let documents = try await documentIds(scope)
        return (index.top(queryVector, count: count, documents: documents, skipping: skipping), queryVector, index)
    }

    /// The workspace's vectors of the embedder's model (every owner's: candidates are filtered per
    /// search), from memory unless chunks changed since.
    func vectorIndex(workspaceId: Int64, embedder: any Embedder) async throws -> VectorIndex? {
        let revision = try await store.indexRevision(workspaceId: workspaceId)
        if let cached = cache.withLock({ $0[workspaceId] }), cached.revision == revision, cached.model == embedder.model {
            return cached.isEmpty ? nil : cached
        }
        let model = embedder.model
        var index = VectorIndex(revision: revision, model: model)
        for (id, documentId, vector) in try await store.vectors(workspaceId: workspaceId, model: model) {
            index.append(vector, id: id, documentId: documentId)
        }
        cache.withLock { $0[workspaceId] = index }
        return index.isEmpty ? nil : index
    }
}

extension ScoredChunk {
    /// A row of `id, document_id, position, heading, text, name`.
    init(row: Row, score: Double) {
        self.init(chunkId: row["id"], documentId: row["document_id"], position: row["position"], documentName: row["name"],
                  heading: row["heading"], text: row["text"], score: score)
    }

    /// Characters the passage takes in a prompt (its heading goes with it).
    var contextCost: Int {
        text.count + (heading?.count ?? 0)
    }
}
