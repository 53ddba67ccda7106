import AsyncHTTPClient
import ChatBridge
import Hummingbird

extension Components {
    /// `/api/workspaces/{slug}/documents`.
    func addDocumentRoutes(to workspaces: RouterGroup<AppRequestContext>) {
        let store = dependencies.storage.documents
        // Uploads are embedded with the model the retriever searches with, so the two always agree.
        let ingestor = DocumentIngestor(store: store, settings: configuration.documents, embedder: dependencies.retriever.embedder)
        DocumentsController(chats: dependencies.chats, documents: store, ingestor: ingestor).addRoutes(to: workspaces)
    }
}

extension DocumentSettings {
    /// The embeddings client when a provider is configured, behind `queue` when one is given.
    private func makeEmbedder(client: HTTPClient, queue: ProviderQueue?) -> (any Embedder)? {
        embeddings.map { settings in
            let embedder = OpenAIEmbeddings(settings: settings, client: client)
            return queue.map { QueuedEmbedder(embedder, queue: $0) } ?? embedder
        }
    }

    /// The production retriever: BM25, plus vectors when an embeddings provider is configured. The
    /// server passes the embeddings provider's queue, so question-time embeddings (and uploads, which
    /// reuse this embedder) respect its concurrency limit.
    func makeRetriever(storage: Storage, client: HTTPClient, queue: ProviderQueue? = nil) -> DocumentRetriever {
        DocumentRetriever(store: storage.documents, embedder: makeEmbedder(client: client, queue: queue),
                          contextCharacters: contextCharacters)
    }
}
