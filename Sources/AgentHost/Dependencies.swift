import AsyncHTTPClient
import ChatBridge
import Foundation
import GRDB
import Prometheus
import Tools

/// The services the routes are built from. Production opens them from the configuration; tests
/// pass their own (an in-memory database, a shared HTTP client).
package struct Dependencies: Sendable {
    /// Every store, from one backend (SQLite or PostgreSQL).
    package var storage: Storage
    package var chats: any ChatStore
    var accounts: any AccountStore
    var notes: any NoteStore
    package var invocations: any InvocationStore
    /// The durable run log (PROTOCOL §8).
    var runLog: any RunLogStore
    /// The server tools, paired with their schemas; `search_documents` searches with ``retriever``.
    var tools: ToolRegistry
    /// Reaches the model providers; its owner shuts it down.
    var httpClient: HTTPClient
    var metrics: PrometheusCollectorRegistry
    /// Grounds chats in documents; agents' `search_documents` searches with it, and uploads are
    /// embedded with its model.
    var retriever: DocumentRetriever

    /// Over one SQLite database; `retriever` defaults to BM25 over its workspace documents (no embedding model).
    package init(database: any DatabaseWriter, httpClient: HTTPClient, tools: ToolRegistry,
         retriever: DocumentRetriever? = nil, metrics: PrometheusCollectorRegistry = PrometheusCollectorRegistry()) {
        self.init(storage: .sqlite(database), httpClient: httpClient, tools: tools, retriever: retriever, metrics: metrics)
    }

    /// `retriever` defaults to BM25 over the workspace documents of `storage` (no embedding model).
    package init(storage: Storage, httpClient: HTTPClient, tools: ToolRegistry,
         retriever: DocumentRetriever? = nil, metrics: PrometheusCollectorRegistry = PrometheusCollectorRegistry()) {
        self.storage = storage
        self.chats = storage.chats
        self.accounts = storage.accounts
        self.notes = storage.notes
        self.invocations = storage.invocations
        self.runLog = storage.runLog
        self.httpClient = httpClient
        self.metrics = metrics
        let documents = retriever ?? DocumentRetriever(store: storage.documents)
        self.retriever = documents
        // Agents search documents exactly as chats retrieve them: the tool gets this retriever.
        self.tools = tools.bindingDocumentSearch(to: documents)
    }

    /// An HTTP client tuned for streaming model answers: the idle timeout is its read timeout; at
    /// most `connectionsPerHost` connections to one host, past which requests wait for one.
    package static func makeHTTPClient(timeouts: ProviderSettings.Timeouts, connectionsPerHost: Int = 4_096) -> HTTPClient {
        var configuration = HTTPClient.Configuration(
            timeout: .init(connect: .nanoseconds(timeouts.connect.nanoseconds), read: .nanoseconds(timeouts.idle.nanoseconds)))
        configuration.decompression = .disabled
        configuration.redirectConfiguration = .disallow
        configuration.httpVersion = .http1Only
        // AsyncHTTPClient's default of 8 per host would queue every stream beyond the eighth; the
        // server's is sized to its file descriptors (``SecuritySettings/upstreamConnectionsPerHost``).
        configuration.connectionPool.concurrentHTTP1ConnectionsPerHostSoftLimit = connectionsPerHost
        // A refused connection fails the request at once (the providers retry with their own backoff)
        // instead of the pool retrying until a deadline: provider streams carry no request deadline,
        // since AsyncHTTPClient's delegate API applies it to the whole body (see UpstreamResponse).
        configuration.connectionPool.retryConnectionEstablishment = false
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }
}

extension ToolRegistry {
    /// The built-in tools paired with the schemas in `directory` (found by ``ToolRegistry/locateSchemaDirectory(explicit:)``).
    package static func builtIn(schemaDirectory explicit: String?) throws -> ToolRegistry {
        guard let directory = ToolRegistry.locateSchemaDirectory(explicit: explicit) else {
            throw ConfigurationError(
                "No tool-schemas directory found. Run from the repository root, or set --tool-schemas / AGENTHOST_TOOL_SCHEMAS.")
        }
        return try ToolRegistry(schemaDirectory: directory, tools: ToolRegistry.builtInTools())
    }
}
