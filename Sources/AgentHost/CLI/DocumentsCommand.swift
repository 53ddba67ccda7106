import ArgumentParser
import AsyncHTTPClient
import ChatBridge
import Foundation

/// Document settings of `agenthost serve` and `agenthost documents`, each also an environment variable.
struct DocumentOptions: ParsableArguments {
    @Option(name: .customLong("embeddings-base-url"), help: "API root of an OpenAI-compatible embeddings provider (POST <url>/embeddings), e.g. http://127.0.0.1:8088/v1. Env: AGENTHOST_EMBEDDINGS_BASE_URL. Default: none (BM25 only)")
    var embeddingsBaseURL: String?

    @Option(name: .customLong("embeddings-model"), help: "Embedding model. Env: AGENTHOST_EMBEDDINGS_MODEL. Required with --embeddings-base-url")
    var embeddingsModel: String?

    @Option(name: .customLong("embeddings-api-key"), help: "API key of the embeddings provider. Env: AGENTHOST_EMBEDDINGS_API_KEY")
    var embeddingsAPIKey: String?

    @Option(name: .customLong("chunk-size"), help: "Target characters per document chunk. Env: AGENTHOST_CHUNK_SIZE. Default: 1000")
    var chunkSize: Int?

    @Option(name: .customLong("chunk-overlap"), help: "Characters shared by consecutive chunks. Env: AGENTHOST_CHUNK_OVERLAP. Default: 150")
    var chunkOverlap: Int?

    @Option(name: .customLong("max-document-text-ratio"), help: "How many times its upload's size a document's extracted text may be (CSV headers and JSON key paths repeat per value); too_large beyond. Env: AGENTHOST_MAX_DOCUMENT_TEXT_RATIO. Default: 20")
    var maxTextRatio: Int?

    @Option(name: .customLong("max-document-text-bytes"), help: "The most extracted text of any one document, in bytes; too_large beyond. Env: AGENTHOST_MAX_DOCUMENT_TEXT_BYTES. Default: 67108864 (64 MiB)")
    var maxTextBytes: Int?

    /// Flags first, then the environment, then defaults.
    func settings() throws -> DocumentSettings {
        var settings = DocumentSettings()
        func integer(_ flag: Int?, _ name: String) throws -> Int? {
            if let flag { return flag }
            guard let text = Environment.value(name) else { return nil }
            guard let value = Int(text) else { throw ValidationError("\(name) must be an integer; got '\(text)'.") }
            return value
        }
        if let size = try integer(chunkSize, "AGENTHOST_CHUNK_SIZE") {
            guard (100...100_000).contains(size) else { throw ValidationError("The chunk size must be from 100 to 100000 characters.") }
            settings.chunkSize = size
        }
        if let overlap = try integer(chunkOverlap, "AGENTHOST_CHUNK_OVERLAP") {
            guard overlap >= 0, overlap <= settings.chunkSize / 2 else {
                throw ValidationError("The chunk overlap must be from 0 to half the chunk size (\(settings.chunkSize / 2)).")
            }
            settings.chunkOverlap = overlap
        }
        if let ratio = try integer(maxTextRatio, "AGENTHOST_MAX_DOCUMENT_TEXT_RATIO") {
            guard (1...1000).contains(ratio) else { throw ValidationError("The document text ratio must be from 1 to 1000.") }
            settings.maxTextRatio = ratio
        }
        if let bytes = try integer(maxTextBytes, "AGENTHOST_MAX_DOCUMENT_TEXT_BYTES") {
            guard bytes >= 1024 else { throw ValidationError("The document text limit must be at least 1024 bytes.") }
            settings.maxTextBytes = bytes
        }
        if let baseURL = embeddingsBaseURL ?? Environment.value("AGENTHOST_EMBEDDINGS_BASE_URL") {
            guard baseURL.hasPrefix("http://") || baseURL.hasPrefix("https://") else {
                throw ValidationError("The embeddings base URL must start with http:// or https://; got '\(baseURL)'.")
            }
            guard let model = embeddingsModel ?? Environment.value("AGENTHOST_EMBEDDINGS_MODEL") else {
                throw ValidationError("Set the embedding model with --embeddings-model or AGENTHOST_EMBEDDINGS_MODEL.")
            }
            settings.embeddings = EmbeddingsSettings(
                baseURL: baseURL, model: model, apiKey: embeddingsAPIKey ?? Environment.value("AGENTHOST_EMBEDDINGS_API_KEY"))
        }
        return settings
    }
}

/// `agenthost documents …`: maintenance of workspace documents.
package struct DocumentsCommand: AsyncParsableCommand {
    package static let configuration = CommandConfiguration(
        commandName: "documents", abstract: "Maintain workspace documents.", subcommands: [Reembed.self])

    package init() {}

    /// `agenthost documents reembed`: computes the vectors of chunks that have none or were embedded
    /// by another model (after a change of `--embeddings-model`), or of every chunk with `--all`.
    package struct Reembed: AsyncParsableCommand {
        package static let configuration = CommandConfiguration(
            abstract: "Embed document chunks again with the configured embedding model (after a model change).")

        @OptionGroup var storage: StorageOptions
        @OptionGroup var database: DatabaseOptions
        @OptionGroup var documents: DocumentOptions

        @Option(help: "Only this workspace (slug). Default: every workspace")
        var workspace: String?

        @Flag(help: "Embed every chunk, not only those without a vector of the current model.")
        var all = false

        @Option(name: .customLong("batch-size"), help: "Chunks per embeddings request.")
        var batchSize = 64

        package init() {}

        package func run() async throws {
            guard var embeddings = try documents.settings().embeddings else {
                throw ValidationError("No embeddings provider: set --embeddings-base-url and --embeddings-model (or AGENTHOST_EMBEDDINGS_*).")
            }
            embeddings.batchSize = max(1, batchSize)
            let settings = embeddings
            let count = try await database.withStorage(storage: storage) { stores in
                try await reembed(in: stores, with: settings)
            }
            print("Embedded \(count) chunks with \(embeddings.model).")
        }

        private func reembed(in stores: Storage, with embeddings: EmbeddingsSettings) async throws -> Int {
            var workspaceId: Int64?
            if let workspace {
                guard let found = try await stores.chats.workspace(slug: workspace) else { throw ValidationError("No workspace '\(workspace)'.") }
                workspaceId = found.id
            }
            let client = Dependencies.makeHTTPClient(timeouts: .init())
            do {
                let count = try await Self.reembed(
                    store: stores.documents, embedder: OpenAIEmbeddings(settings: embeddings, client: client),
                    all: all, workspaceId: workspaceId, batchSize: embeddings.batchSize,
                    progress: ReembedProgress(label: "Embedding", enabled: isatty(STDERR_FILENO) == 1))
                try await client.shutdown()
                return count
            } catch {
                try await client.shutdown()
                throw error
            }
        }

        /// Embeds in batches, storing each batch as it comes, so an interrupted run resumes where it stopped.
        package static func reembed(store: any DocumentIndexStore, embedder: any Embedder, all: Bool, workspaceId: Int64?, batchSize: Int,
                                    progress: ReembedProgress) async throws -> Int {
            let total = try await store.countChunksToEmbed(model: embedder.model, all: all, workspaceId: workspaceId)
            var done = 0
            var after: Int64 = 0
            progress.update(done: 0, total: total)
            while true {
                let chunks = try await store.chunksToEmbed(model: embedder.model, all: all, workspaceId: workspaceId,
                                                           afterId: after, limit: batchSize)
                guard let last = chunks.last else { break }
                let vectors = try await embedder.embed(chunks.map { chunk in chunk.heading.map { "\($0)\n\(chunk.text)" } ?? chunk.text })
                try await store.setEmbeddings(zip(chunks, vectors).map { ($0.id!, $1) }, model: embedder.model)
                after = last.id!
                done += chunks.count
                progress.update(done: done, total: max(total, done))
            }
            progress.finish()
            return done
        }
    }
}

/// A one-line progress bar on standard error, redrawn in place; silent when not on a terminal.
package struct ReembedProgress: Sendable {
    let label: String
    let enabled: Bool
    let width = 30

    package init(label: String, enabled: Bool) {
        self.label = label
        self.enabled = enabled
    }

    func update(done: Int, total: Int) {
        guard enabled else { return }
        let fraction = total > 0 ? Double(done) / Double(total) : 1
        let filled = Int((fraction * Double(width)).rounded(.down))
        let bar = String(repeating: "█", count: filled) + String(repeating: "░", count: width - filled)
        let line = "\r\(label) \(bar) \(done)/\(total) (\(Int(fraction * 100))%)"
        FileHandle.standardError.write(Data(line.utf8))
    }

    func finish() {
        guard enabled else { return }
        FileHandle.standardError.write(Data("\n".utf8))
    }
}
