/// An embeddings provider behind its own concurrency limit (PROTOCOL §4 queuing): the question of
/// every chat is embedded before the model is called, so without a limit a burst of chats would send
/// the embeddings server as many requests at once as the model server's queue was built to avoid.
///
/// The ``Embedder`` seam does not carry the caller, so embeddings wait first come, first served
/// rather than round-robin per user; each call is short (one batch of inputs) and holds its slot only
/// for that request.
public struct QueuedEmbedder: Embedder {
    let base: any Embedder
    /// The embeddings provider's own line; it never shares a line with a chat model.
    public let queue: ProviderQueue

    public init(_ base: any Embedder, queue: ProviderQueue) {
        self.base = base
        self.queue = queue
    }

    public var model: String { base.model }

    public func embed(_ inputs: [String]) async throws -> [[Float]] {
        let ticket = try queue.reserve(QueueClaim(user: "embeddings"))
        defer { ticket.release() }
        try await ticket.waitForSlot(onPosition: { _ in })
        return try await base.embed(inputs)
    }
}
