import AgentHost
import AgentHostTesting
import ArgumentParser
import ChatBridge
import Foundation
import GRDB
import Logging

extension BenchCommand {
    /// `agenthost-bench retrieval`: retrieval quality and speed over generated documents whose answers are known.
    struct Retrieval: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "retrieval",
            abstract: "Recall@5 of BM25 and hybrid retrieval on a generated labelled set, ingest MB/s, and retrieval latency over many chunks.",
            discussion: """
                Documents are generated from a fixed seed: invented places and people with facts ("The harbour of \
                Velkor is Dranmoor."), buried in filler paragraphs that mention the same names and attribute words. \
                Each question asks for one fact; a hit is a top-5 passage holding the answer. No embedding model is \
                reachable here, so the vector side uses HashingEmbedder (feature hashing of words and trigrams), a \
                deterministic stand-in that knows nothing of meaning. Uses a real SQLite file in a temporary directory. \
                Build with -c release.
                """)

        @Option(help: "Questions in the labelled set (at least 200).")
        var questions = 250

        @Option(help: "Chunks in the large workspace for the latency measurement.")
        var chunks = 100_000

        @Option(help: "Timed queries over the large workspace.")
        var queries = 1000

        @Flag(name: .customLong("skip-hybrid-latency"), help: "Measure only BM25 latency over the large workspace (skips embedding it).")
        var skipHybridLatency = false

        func validate() throws {
            guard questions >= 200 else { throw ValidationError("--questions must be at least 200.") }
            guard chunks >= 1000 else { throw ValidationError("--chunks must be at least 1000.") }
        }

        func run() async throws {
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("agenthost-bench-retrieval-\(UUID().uuidString)")
            defer { try? FileManager.default.removeItem(at: directory) }
            var logger = Logger(label: "bench")
            logger.logLevel = .warning
            let pool = try AppDatabase.openPool(directory: directory, logger: logger)
            let chats = SQLiteStore(writer: pool)
            let store = SQLiteDocumentStore(writer: pool)
            let embedder = HashingEmbedder(dimensions: 256)
            var generator = Corpus(seed: 42)

            // 1. Labelled set: recall@5.
            let small = try await chats.createWorkspace(Workspace(name: "Labelled", slug: "", topN: 5, similarityThreshold: 0))
            let factsPerDocument = 5
            let set = generator.documents(count: (questions + factsPerDocument - 1) / factsPerDocument, factsPerDocument: factsPerDocument,
                                          fillerParagraphs: 12)
            let ingestor = DocumentIngestor(store: store, settings: DocumentSettings(), embedder: embedder)
            for document in set.documents {
                _ = try await ingestor.ingest(workspaceId: small.id!, userId: nil, name: document.name, mime: "text/markdown",
                                              data: Array(document.text.utf8))
            }
            let retriever = DocumentRetriever(store: store, embedder: embedder)
            let labelled = Array(set.questions.prefix(questions))
            var recall: [DocumentRetriever.Mode: Int] = [:]
            for mode in [DocumentRetriever.Mode.lexical, .vector, .automatic] {
                for question in labelled {
                    let hits = try await retriever.search(query: question.text, workspaceId: small.id!, limit: 5, threshold: 0, mode: mode)
                    if hits.contains(where: { $0.text.contains(question.answer) }) { recall[mode, default: 0] += 1 }
                }
            }
            let chunkCount = try await pool.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM document_chunks") ?? 0 }
            print("Labelled set: \(labelled.count) questions over \(set.documents.count) documents (\(chunkCount) chunks)")
            for (mode, name) in [(DocumentRetriever.Mode.lexical, "BM25 alone"), (.vector, "vectors alone (hashing stand-in)"),
                                 (.automatic, "hybrid (RRF)")] {
                print(String(format: "  recall@5 %-34@ %.3f", name as NSString, Double(recall[mode] ?? 0) / Double(labelled.count)))
            }

            // 2. Ingest throughput and latency over a large workspace.
            let large = try await chats.createWorkspace(Workspace(name: "Large", slug: "", topN: 5, similarityThreshold: 0.25))
            let lexicalIngestor = DocumentIngestor(store: store, settings: DocumentSettings(), embedder: nil)
            var bytes = 0
            var stored = 0
            var largeQuestions: [Corpus.Question] = []
            let clock = ContinuousClock()
            let start = clock.now
            while stored < chunks {
                let batch = generator.documents(count: 1, factsPerDocument: 5, fillerParagraphs: 95)
                largeQuestions += batch.questions
                for document in batch.documents {
                    let data = Array(document.text.utf8)
                    bytes += data.count
                    let added = try await lexicalIngestor.ingest(workspaceId: large.id!, userId: nil, name: document.name, mime: "text/markdown", data: data)
                    stored += added.chunkCount
                }
            }
            let ingestSeconds = start.duration(to: clock.now).milliseconds / 1000
            print(String(format: "Ingest (extract, chunk, index; no embeddings): %.1f MB in %.1f s = %.2f MB/s (%d chunks, %.0f chunks/s)",
                         Double(bytes) / 1e6, ingestSeconds, Double(bytes) / 1e6 / ingestSeconds, stored, Double(stored) / ingestSeconds))

            let lexicalOnly = DocumentRetriever(store: store)
            let sample = (0..<queries).map { largeQuestions[$0 * 7919 % largeQuestions.count] }
            let bm25 = try await Self.latencies(sample.map(\.text)) { try await lexicalOnly.retrieve(query: $0, workspace: large) }
            print(String(format: "Retrieval over %d chunks, BM25: p50 %.2f ms, p99 %.2f ms (%d queries)", stored, bm25.p50, bm25.p99, queries))

            if !skipHybridLatency {
                let embedStart = clock.now
                let count = try await DocumentsCommand.Reembed.reembed(store: store, embedder: embedder, all: false, workspaceId: large.id,
                                                                       batchSize: 512, progress: ReembedProgress(label: "Embedding", enabled: false))
                let embedSeconds = embedStart.duration(to: clock.now).milliseconds / 1000
                print(String(format: "Embedding (hashing stand-in, 256 dims): %d chunks in %.1f s", count, embedSeconds))
                let hybridRetriever = DocumentRetriever(store: store, embedder: embedder)
                _ = try await hybridRetriever.retrieve(query: "warm up the vector cache", workspace: large)
                let vectors = try await Self.latencies(sample.map(\.text)) {
                    try await hybridRetriever.search(query: $0, workspaceId: large.id!, limit: large.topN, threshold: large.similarityThreshold,
                                                     mode: .vector)
                }
                print(String(format: "Retrieval over %d chunks, vectors alone (cosine over 256-dim half-precision vectors): p50 %.2f ms, p99 %.2f ms",
                             stored, vectors.p50, vectors.p99))
                let hybrid = try await Self.latencies(sample.map(\.text)) { try await hybridRetriever.retrieve(query: $0, workspace: large) }
                print(String(format: "Retrieval over %d chunks, hybrid (BM25 + cosine over 256-dim half-precision vectors + RRF): p50 %.2f ms, p99 %.2f ms",
                             stored, hybrid.p50, hybrid.p99))
            }
            try pool.close()
        }

        static func latencies<Hits>(_ queries: [String], _ run: (String) async throws -> Hits) async throws -> (p50: Double, p99: Double) {
            let clock = ContinuousClock()
            for query in queries.prefix(20) { _ = try await run(query) }
            var samples = Samples()
            for query in queries {
                let start = clock.now
                _ = try await run(query)
                samples.append(start.duration(to: clock.now).milliseconds)
            }
            return (samples.p50, samples.p99)
        }
    }

    /// Generated documents with known facts (deterministic for a seed).
    struct Corpus {
        struct Question { var text: String; var answer: String }
        struct Generated { var documents: [(name: String, text: String)]; var questions: [Question] }

        private var state: UInt64
        private var counter = 0
        let vocabulary: [String]
        static let attributes: [(noun: String, question: String)] = [
            ("harbour", "Which harbour serves %@?"), ("founder", "Who founded %@?"), ("river", "What river flows through %@?"),
            ("festival", "Which festival is held in %@?"), ("mine", "What is mined near %@?"), ("guild", "Which guild rules %@?"),
            ("dialect", "What dialect is spoken in %@?"), ("fortress", "Which fortress guards %@?"),
        ]

        init(seed: UInt64) {
            state = seed
            var words: [String] = []
            var seen = Set<String>()
            var rng = SplitMix64(seed: seed &+ 1)
            while words.count < 3000 {
                let word = Self.pseudoWord(&rng)
                if seen.insert(word).inserted { words.append(word) }
            }
            vocabulary = words + ["the", "of", "and", "in", "a", "to", "was", "is", "for", "with", "near", "old", "people", "trade"]
        }

        static func pseudoWord(_ rng: inout SplitMix64) -> String {
            let onsets = ["b", "d", "f", "g", "k", "l", "m", "n", "p", "r", "s", "t", "v", "z", "br", "dr", "kr", "st", "th", "qu"]
            let vowels = ["a", "e", "i", "o", "u", "ae", "ei", "ou"]
            return (0..<Int(2 + rng.next() % 2)).map { _ in onsets[Int(rng.next() % 20)] + vowels[Int(rng.next() % 8)] }.joined()
                + ["", "n", "r", "th", "s"][Int(rng.next() % 5)]
        }

        mutating func next() -> UInt64 {
            var rng = SplitMix64(seed: state)
            defer { state = rng.state }
            return rng.next()
        }

        mutating func word() -> String { vocabulary[Int(next() % UInt64(vocabulary.count))] }
        mutating func name() -> String { word().capitalized + word() }

        mutating func documents(count: Int, factsPerDocument: Int, fillerParagraphs: Int) -> Generated {
            var documents: [(String, String)] = []
            var questions: [Question] = []
            for _ in 0..<count {
                counter += 1
                var sections: [String] = []
                var places: [String] = []
                for _ in 0..<factsPerDocument {
                    let place = name()
                    let answer = name()
                    let attribute = Self.attributes[Int(next() % UInt64(Self.attributes.count))]
                    places.append(place)
                    sections.append("## \(place)\n\nThe \(attribute.noun) of \(place) is \(answer). " + sentence(12))
                    questions.append(Question(text: String(format: attribute.question, place), answer: answer))
                }
                // Filler mentions the same places and attribute words, as distractors.
                for index in 0..<fillerParagraphs {
                    let place = places[index % places.count]
                    let noun = Self.attributes[Int(next() % UInt64(Self.attributes.count))].noun
                    sections.insert("\(sentence(40)) Travellers to \(place) speak of the \(noun) and \(sentence(40))",
                                    at: Int(next() % UInt64(sections.count + 1)))
                }
                documents.append(("atlas-\(counter).md", "# Atlas \(counter)\n\n" + sections.joined(separator: "\n\n")))
            }
            return Generated(documents: documents, questions: questions)
        }

        mutating func sentence(_ words: Int) -> String {
            (0..<words).map { _ in word() }.joined(separator: " ").capitalizedFirst + "."
        }
    }
}

extension String {
    fileprivate var capitalizedFirst: String { prefix(1).uppercased() + dropFirst() }
}
