import AsyncHTTPClient
import ChatBridge
import Foundation
import GRDB
import Prometheus

/// The services the routes are built from. Production opens them from the configuration; tests
/// pass their own (an in-memory database, a shared HTTP client).
struct Dependencies: Sendable {
    var database: any DatabaseWriter
    var chats: any ChatStore
    var accounts: any AccountStore
    /// Reaches the model providers; its owner shuts it down.
    var httpClient: HTTPClient
    var metrics: PrometheusCollectorRegistry
    var retriever: any Retriever

    init(database: any DatabaseWriter, httpClient: HTTPClient, retriever: any Retriever = NoDocumentsRetriever()) {
        let store = SQLiteStore(writer: database)
        self.database = database
        self.chats = store
        self.accounts = store
        self.httpClient = httpClient
        self.metrics = PrometheusCollectorRegistry()
        self.retriever = retriever
    }

    /// An HTTP client tuned for streaming model answers: the idle timeout is its read timeout.
    static func makeHTTPClient(timeouts: ProviderSettings.Timeouts) -> HTTPClient {
        var configuration = HTTPClient.Configuration(
            timeout: .init(connect: .nanoseconds(timeouts.connect.nanoseconds), read: .nanoseconds(timeouts.idle.nanoseconds)))
        configuration.decompression = .disabled
        configuration.redirectConfiguration = .disallow
        configuration.httpVersion = .http1Only
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }
}
