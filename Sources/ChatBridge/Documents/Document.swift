import Foundation
import GRDB

/// A file uploaded to a workspace, with the text extracted from it. Its chunks ground answers.
public struct Document: Codable, Sendable, Equatable, Identifiable {
    public var id: Int64?
    public var workspaceId: Int64
    /// Who uploaded it; `nil` in single-user mode and for administrator API keys.
    public var userId: Int64?
    public var name: String
    /// The normalised type, one of ``DocumentType``'s MIME types.
    public var mime: String
    /// Bytes of the uploaded file.
    public var size: Int
    /// A pinned document is always in the context (within the budget), whatever the question.
    public var pinned: Bool
    /// The extracted text the chunks are cut from.
    public var text: String
    public var chunkCount: Int
    public var createdAt: Date
    public var updatedAt: Date

    public init(id: Int64? = nil, workspaceId: Int64, userId: Int64?, name: String, mime: String, size: Int,
                pinned: Bool = false, text: String, chunkCount: Int = 0,
                createdAt: Date = Timestamp.now(), updatedAt: Date = Timestamp.now()) {
        self.id = id
        self.workspaceId = workspaceId
        self.userId = userId
        self.name = name
        self.mime = mime
        self.size = size
        self.pinned = pinned
        self.text = text
        self.chunkCount = chunkCount
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }
}

extension Document: FetchableRecord, MutablePersistableRecord, SnakeCaseColumns {
    public static let databaseTableName = "documents"

    public mutating func didInsert(_ inserted: InsertionSuccess) {
        id = inserted.rowID
    }
}

/// One passage of a document: the unit of retrieval.
public struct DocumentChunk: Codable, Sendable, Equatable, Identifiable {
    public var id: Int64?
    public var documentId: Int64
    public var workspaceId: Int64
    /// 0-based order within the document.
    public var position: Int
    /// The heading the passage sits under, if any.
    public var heading: String?
    public var text: String
    /// L2-normalised float32 vector (little-endian), when an embedding model is configured.
    public var embedding: Data?
    public var embeddingModel: String?

    public init(id: Int64? = nil, documentId: Int64, workspaceId: Int64, position: Int, heading: String?, text: String,
                embedding: Data? = nil, embeddingModel: String? = nil) {
        self.id = id
        self.documentId = documentId
        self.workspaceId = workspaceId
        self.position = position
        self.heading = heading
        self.text = text
        self.embedding = embedding
        self.embeddingModel = embeddingModel
    }
}

extension DocumentChunk: FetchableRecord, MutablePersistableRecord, SnakeCaseColumns {
    public static let databaseTableName = "document_chunks"

    public mutating func didInsert(_ inserted: InsertionSuccess) {
        id = inserted.rowID
    }
}

/// How documents are cut, limited, embedded and put into the context.
public struct DocumentSettings: Sendable, Equatable {
    /// Largest accepted file, in bytes (`too_large` beyond).
    public var maxBytes: Int
    /// Target characters per chunk.
    public var chunkSize: Int
    /// Characters repeated from the end of one chunk at the start of the next.
    public var chunkOverlap: Int
    /// Characters of document passages (pinned and retrieved) put into one prompt, leaving the
    /// rest of the model's window to the history and the answer (~4 characters per token).
    public var contextCharacters: Int
    /// The OpenAI-compatible embeddings provider; BM25 alone when `nil`.
    public var embeddings: EmbeddingsSettings?
    /// How many times its own size an upload's extracted text may be (CSV headers and JSON key
    /// paths are repeated for every value); `too_large` beyond. See ``ExtractedTextBudget``.
    public var maxTextRatio: Int
    /// The most text, in UTF-8 bytes, any one upload may produce, whatever its size.
    public var maxTextBytes: Int

    public static let defaultMaxTextRatio = 20
    public static let defaultMaxTextBytes = 64 * 1024 * 1024

    public init(maxBytes: Int = 3 * 1024 * 1024, chunkSize: Int = 1000, chunkOverlap: Int = 150,
                contextCharacters: Int = 12_000, embeddings: EmbeddingsSettings? = nil,
                maxTextRatio: Int = DocumentSettings.defaultMaxTextRatio, maxTextBytes: Int = DocumentSettings.defaultMaxTextBytes) {
        self.maxBytes = maxBytes
        self.chunkSize = chunkSize
        self.chunkOverlap = chunkOverlap
        self.contextCharacters = contextCharacters
        self.embeddings = embeddings
        self.maxTextRatio = maxTextRatio
        self.maxTextBytes = maxTextBytes
    }
}

/// Where `/embeddings` is served and with which model.
public struct EmbeddingsSettings: Sendable, Equatable {
    /// API root, e.g. `https://api.openai.com/v1` or `http://127.0.0.1:8088/v1`; `/embeddings` is appended.
    public var baseURL: String
    public var model: String
    public var apiKey: String?
    /// Inputs per request.
    public var batchSize: Int

    public init(baseURL: String, model: String, apiKey: String? = nil, batchSize: Int = 64) {
        self.baseURL = baseURL
        self.model = model
        self.apiKey = apiKey
        self.batchSize = batchSize
    }
}
