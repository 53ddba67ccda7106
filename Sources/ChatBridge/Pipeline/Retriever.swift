/// A passage of a workspace document found relevant to a message.
public struct RetrievedChunk: Sendable, Equatable {
    public var source: ChatSource
    /// Whether it is there because its document is pinned (always in context) rather than by score.
    public var pinned: Bool

    public init(source: ChatSource, pinned: Bool = false) {
        self.source = source
        self.pinned = pinned
    }
}

/// Finds the document passages that ground an answer (the "documents" half of the context stage).
public protocol Retriever: Sendable {
    /// Passages of `workspace`'s documents relevant to `query`: pinned ones first, then the best
    /// `workspace.topN` above `workspace.similarityThreshold`.
    func retrieve(query: String, workspace: Workspace) async throws -> [RetrievedChunk]
}

/// The retriever of a workspace without documents.
public struct NoDocumentsRetriever: Retriever {
    public init() {}

    public func retrieve(query: String, workspace: Workspace) async throws -> [RetrievedChunk] { [] }
}
