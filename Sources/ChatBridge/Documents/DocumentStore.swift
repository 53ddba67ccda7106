import Foundation
import GRDB

/// Stored documents of workspaces, with the same visibility rules as chats: a user sees and changes
/// their own, administrators everything.
public protocol DocumentStore: Sendable {
    /// Stores a document and all its chunks in one transaction: either everything or nothing.
    func addDocument(_ document: Document, chunks: [DocumentChunk]) async throws -> Document
    /// The workspace's documents the viewer may see, oldest first, without their text.
    func documents(workspaceId: Int64, viewer: Viewer) async throws -> [Document]
    func document(id: Int64, workspaceId: Int64, viewer: Viewer) async throws -> Document?
    /// Removes the document and its chunks (and with them their search index entries).
    func deleteDocument(id: Int64, workspaceId: Int64, viewer: Viewer) async throws -> Bool
    func setPinned(id: Int64, workspaceId: Int64, pinned: Bool, viewer: Viewer) async throws -> Document?
    func chunks(documentId: Int64) async throws -> [DocumentChunk]
}

/// The SQLite implementation of ``DocumentStore``, plus the queries of retrieval and re-embedding.
public final class SQLiteDocumentStore: DocumentStore {
    public let writer: any DatabaseWriter

    public init(writer: any DatabaseWriter) {
        self.writer = writer
    }

    private func visible(_ workspaceId: Int64, _ viewer: Viewer) -> QueryInterfaceRequest<Document> {
        var request = Document.filter(Column("workspace_id") == workspaceId)
        if !viewer.isAdmin { request = request.filter(Column("user_id") == viewer.userId) }
        return request
    }

    public func addDocument(_ document: Document, chunks: [DocumentChunk]) async throws -> Document {
        try await writer.write { db in
            var document = document
            document.chunkCount = chunks.count
            try document.insert(db)
            for var chunk in chunks {
                chunk.documentId = document.id!
                chunk.workspaceId = document.workspaceId
                try chunk.insert(db)
            }
            return document
        }
    }

    public func documents(workspaceId: Int64, viewer: Viewer) async throws -> [Document] {
        try await writer.read { [self] db in
            try visible(workspaceId, viewer)
                .select(Column("id"), Column("workspace_id"), Column("user_id"), Column("name"), Column("mime"), Column("size"),
                        Column("pinned"), SQL("'' AS text"), Column("chunk_count"), Column("created_at"), Column("updated_at"))
                .order(Column("id"))
                .fetchAll(db)
        }
    }

    public func document(id: Int64, workspaceId: Int64, viewer: Viewer) async throws -> Document? {
        try await writer.read { [self] db in try visible(workspaceId, viewer).filter(key: id).fetchOne(db) }
    }

    public func deleteDocument(id: Int64, workspaceId: Int64, viewer: Viewer) async throws -> Bool {
        try await writer.write { [self] db in try visible(workspaceId, viewer).filter(key: id).deleteAll(db) > 0 }
    }

    public func setPinned(id: Int64, workspaceId: Int64, pinned: Bool, viewer: Viewer) async throws -> Document? {
        try await writer.write { [self] db in
            guard var document = try visible(workspaceId, viewer).filter(key: id).fetchOne(db) else { return nil }
            document.pinned = pinned
            document.updatedAt = Timestamp.now()
            try document.update(db, columns: ["pinned", "updated_at"])
            return document
        }
    }

    public func chunks(documentId: Int64) async throws -> [DocumentChunk] {
        try await writer.read { db in
            try DocumentChunk.filter(Column("document_id") == documentId).order(Column("position")).fetchAll(db)
        }
    }

    public func workspace(id: Int64) async throws -> Workspace? {
        try await writer.read { db in try Workspace.fetchOne(db, key: id) }
    }

    // MARK: Re-embedding

    /// Up to `limit` chunks after `afterId` whose vector is missing or from another model than `model`
    /// (every chunk when `all`), of one workspace or all.
    public func chunksToEmbed(model: String, all: Bool, workspaceId: Int64?, afterId: Int64, limit: Int) async throws -> [DocumentChunk] {
        try await writer.read { db in
            var request = DocumentChunk.filter(Column("id") > afterId)
            if !all { request = request.filter(Column("embedding") == nil || Column("embedding_model") != model) }
            if let workspaceId { request = request.filter(Column("workspace_id") == workspaceId) }
            return try request.order(Column("id")).limit(limit).fetchAll(db)
        }
    }

    public func countChunksToEmbed(model: String, all: Bool, workspaceId: Int64?) async throws -> Int {
        try await writer.read { db in
            var request = DocumentChunk.all()
            if !all { request = request.filter(Column("embedding") == nil || Column("embedding_model") != model) }
            if let workspaceId { request = request.filter(Column("workspace_id") == workspaceId) }
            return try request.fetchCount(db)
        }
    }

    public func setEmbeddings(_ vectors: [(id: Int64, vector: [Float])], model: String) async throws {
        try await writer.write { db in
            let statement = try db.makeStatement(sql: "UPDATE document_chunks SET embedding = ?, embedding_model = ? WHERE id = ?")
            for (id, vector) in vectors {
                try statement.execute(arguments: [VectorMath.blob(VectorMath.normalized(vector)), model, id])
            }
        }
    }
}
