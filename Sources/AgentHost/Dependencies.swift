import AsyncHTTPClient
import ChatBridge
import Foundation
import GRDB
import Prometheus
import Tools

/// The services the routes are built from. Production opens them from the configuration; tests
/// pass their own (an in-memory database, a shared HTTP client).
struct Dependencies: Sendable {
    var database: any DatabaseWriter
    var chats: any ChatStore
    var accounts: any AccountStore
    var notes: any NoteStore
    var invocations: any InvocationStore
    /// The server tools, paired with their schemas.
    var tools: ToolRegistry
    /// Reaches the model providers; its owner shuts it down.
    var httpClient: HTTPClient
    var metrics: PrometheusCollectorRegistry
    var retriever: any Retriever

    /// `retriever` defaults to BM25 over the workspace documents of `database` (no embedding model).
    init(database: any DatabaseWriter, httpClient: HTTPClient, tools: ToolRegistry,
         retriever: (any Retriever)? = nil) {
        let store = SQLiteStore(writer: database)
        self.database = database
        self.chats = store
        self.accounts = store
        self.notes = store
        self.invocations = store
        self.tools = tools
        self.httpClient = httpClient
        self.metrics = PrometheusCollectorRegistry()
        let documents = retriever ?? DocumentRetriever(writer: database)
        self.retriever = documents
        // Agents' search_documents tool finds the same retriever through the chat store.
        if let documents = documents as? DocumentRetriever { DocumentRetriever.attach(documents, to: store) }
    }

    /// An HTTP client tuned for streaming model answers: the idle timeout is its read timeout.
    static func makeHTTPClient(timeouts: ProviderSettings.Timeouts) -> HTTPClient {
        var configuration = HTTPClient.Configuration(
            timeout: .init(connect: .nanoseconds(timeouts.connect.nanoseconds), read: .nanoseconds(timeouts.idle.nanoseconds)))
        configuration.decompression = .disabled
        configuration.redirectConfiguration = .disallow
        configuration.httpVersion = .http1Only
        // The default of 8 connections per host would queue every stream beyond the eighth.
        configuration.connectionPool.concurrentHTTP1ConnectionsPerHostSoftLimit = 4096
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }
}

extension ToolRegistry {
    /// The built-in tools paired with the schemas in `directory` (found by ``ToolRegistry/locateSchemaDirectory(explicit:)``).
    static func builtIn(schemaDirectory explicit: String?) throws -> ToolRegistry {
        guard let directory = ToolRegistry.locateSchemaDirectory(explicit: explicit) else {
            throw ConfigurationError(
                "No tool-schemas directory found. Run from the repository root, or set --tool-schemas / AGENTHOST_TOOL_SCHEMAS.")
        }
        return try ToolRegistry(schemaDirectory: directory, tools: ToolRegistry.builtInTools())
    }
}
