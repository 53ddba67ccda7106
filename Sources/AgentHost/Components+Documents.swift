import AsyncHTTPClient
import ChatBridge
import GRDB
import Hummingbird

extension Components {
    /// `/api/workspaces/{slug}/documents`.
    func addDocumentRoutes(to workspaces: RouterGroup<AppRequestContext>) {
        let store = SQLiteDocumentStore(writer: dependencies.database)
        // Uploads are embedded with the model the retriever searches with, so the two always agree.
        let embedder = (dependencies.retriever as? DocumentRetriever).map(\.embedder)
            ?? configuration.documents.makeEmbedder(client: dependencies.httpClient)
        let ingestor = DocumentIngestor(store: store, settings: configuration.documents, embedder: embedder)
        DocumentsController(chats: dependencies.chats, documents: store, ingestor: ingestor).addRoutes(to: workspaces)
    }
}

extension DocumentSettings {
    /// The embeddings client when a provider is configured.
    func makeEmbedder(client: HTTPClient) -> (any Embedder)? {
        embeddings.map { OpenAIEmbeddings(settings: $0, client: client) }
    }

    /// The production retriever: BM25, plus vectors when an embeddings provider is configured.
    func makeRetriever(database: any DatabaseWriter, client: HTTPClient) -> DocumentRetriever {
        DocumentRetriever(store: SQLiteDocumentStore(writer: database), embedder: makeEmbedder(client: client),
                          contextCharacters: contextCharacters)
    }
}
