import Foundation

/// Upload → text → chunks → vectors → one transaction. Everything that can fail (extraction, the
/// embeddings provider) runs before anything is written, so a failed upload stores nothing.
public struct DocumentIngestor: Sendable {
    public let store: any DocumentStore
    public let extractor: DocumentExtractor
    public let chunker: DocumentChunker
    public let embedder: (any Embedder)?

    public init(store: any DocumentStore, settings: DocumentSettings, embedder: (any Embedder)?) {
        self.store = store
        self.extractor = DocumentExtractor(maxBytes: settings.maxBytes, maxTextRatio: settings.maxTextRatio,
                                           maxTextBytes: settings.maxTextBytes)
        self.chunker = DocumentChunker(size: settings.chunkSize, overlap: settings.chunkOverlap)
        self.embedder = embedder
    }

    public func ingest(workspaceId: Int64, userId: Int64?, name rawName: String, mime: String?, data: [UInt8]) async throws -> Document {
        let name = rawName.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !name.isEmpty else { throw APIError.validation("Field 'name' must not be empty.") }
        guard name.count <= 255 else { throw APIError.validation("Field 'name' must be at most 255 characters.") }
        let (type, text) = try await extractor.extract(name: name, mime: mime, data: data)
        let pieces = chunker.chunk(text)
        var vectors: [[Float]]?
        if let embedder, !pieces.isEmpty {
            vectors = try await embedder.embed(pieces.map { piece in piece.heading.map { "\($0)\n\(piece.text)" } ?? piece.text })
        }
        let chunks = pieces.enumerated().map { position, piece in
            DocumentChunk(documentId: 0, workspaceId: workspaceId, position: position, heading: piece.heading, text: piece.text,
                          embedding: vectors.map { VectorMath.blob(VectorMath.normalized($0[position])) },
                          embeddingModel: vectors == nil ? nil : embedder?.model)
        }
        return try await store.addDocument(
            Document(workspaceId: workspaceId, userId: userId, name: name, mime: type.rawValue, size: data.count, text: text),
            chunks: chunks)
    }
}
