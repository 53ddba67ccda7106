/// A passage of a workspace document found relevant to a message.
public struct RetrievedChunk: Sendable, Equatable {
    public var source: ChatSource
    /// The heading the passage sits under, if any: the model is told it with the passage, because
    /// chunks are cut under headings and often do not repeat them ("Refunds" → "Within 30 days.").
    public var heading: String?
    /// Whether it is there because its document is pinned (always in context) rather than by score.
    public var pinned: Bool

    public init(source: ChatSource, heading: String? = nil, pinned: Bool = false) {
        self.source = source
        self.heading = heading
        self.pinned = pinned
    }
}

/// The documents half of a chat's context.
public struct Retrieval: Sendable, Equatable {
    /// Pinned passages first, then the best passages by score.
    public var chunks: [RetrievedChunk]
    /// Whether any passage, pinned or not, reaches the workspace's `similarity_threshold` for the
    /// question. Query mode refuses without it: a pinned document that is always in context must
    /// not make every question look answerable.
    public var matched: Bool

    public init(chunks: [RetrievedChunk], matched: Bool) {
        self.chunks = chunks
        self.matched = matched
    }

    public static let empty = Retrieval(chunks: [], matched: false)
}

/// Finds the document passages that ground an answer (the "documents" half of the context stage).
public protocol Retriever: Sendable {
    /// Passages of the documents of `workspace` owned by `ownerId` relevant to `query`: the owner's
    /// pinned ones first, then the best `workspace.topN` above `workspace.similarityThreshold`.
    ///
    /// Only the caller's own documents ground their answers, as only their own chats make their
    /// history; administrators included. `ownerId` is compared with SQL `IS`: `nil` (single-user
    /// mode, administrator API keys) means the documents without an owner, never "everyone's".
    func retrieve(query: String, workspace: Workspace, ownerId: Int64?) async throws -> Retrieval
}
