import ChatBridge
import Foundation
import GRDB
import Hummingbird
import HummingbirdTesting
import Logging
import Testing

@testable import AgentHost

/// An OpenAI-compatible `POST /v1/embeddings` on a real loopback socket: vectors of ChatBridge's
/// `HashingEmbedder` (64 dimensions), or HTTP 500 while ``failing``, as a provider that is down.
actor EmbeddingsServer {
    private(set) var failing = false
    /// Requests answered with 500.
    private(set) var failures = 0
    private var port: Int?
    private var portWaiters: [CheckedContinuation<Int, Never>] = []

    func setFailing(_ failing: Bool) {
        self.failing = failing
    }

    /// The API root to configure (`…/v1`).
    var baseURL: String {
        get async { "http://127.0.0.1:\(await boundPort())/v1" }
    }

    private func boundPort() async -> Int {
        if let port { return port }
        return await withCheckedContinuation { portWaiters.append($0) }
    }

    private func bound(to port: Int) {
        self.port = port
        for waiter in portWaiters { waiter.resume(returning: port) }
        portWaiters.removeAll()
    }

    /// Whether to fail this request (counted).
    private func shouldFail() -> Bool {
        if failing { failures += 1 }
        return failing
    }

    /// Serves for the duration of `body`.
    static func run<Value: Sendable>(_ body: @escaping @Sendable (EmbeddingsServer) async throws -> Value) async throws -> Value {
        let server = EmbeddingsServer()
        var logger = Logger(label: "fake-embeddings")
        logger.logLevel = .critical
        let router = Router()
        router.post("v1/embeddings") { request, _ -> Response in
            let bytes = try await request.body.collect(upTo: 16 << 20)
            if await server.shouldFail() {
                return Response(status: .internalServerError, headers: [.contentType: "application/json"],
                                body: .init(byteBuffer: ByteBuffer(string: #"{"error": {"message": "model crashed"}}"#)))
            }
            let json = (try? JSONValue(parsing: bytes.readableBytesView)) ?? .null
            let inputs = json["input"]?.arrayValue?.compactMap(\.stringValue) ?? []
            let embedder = HashingEmbedder(dimensions: 64)
            let data: [JSONValue] = inputs.enumerated().map { index, text in
                ["index": .number(Double(index)), "embedding": .array(embedder.vector(text).map { .number(Double($0)) })]
            }
            return Response(status: .ok, headers: [.contentType: "application/json"],
                            body: .init(byteBuffer: ByteBuffer(bytes: JSONValue.object(["data": .array(data)]).serialized())))
        }
        let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
                              onServerRunning: { channel in await server.bound(to: channel.localAddress?.port ?? 0) },
                              logger: logger)
        return try await withThrowingTaskGroup(of: Value?.self) { group in
            group.addTask {
                try await app.run()
                return nil
            }
            group.addTask {
                _ = await server.boundPort()
                return try await body(server)
            }
            defer { group.cancelAll() }
            while let result = try await group.next() {
                if let result { return result }
            }
            throw CancellationError()
        }
    }
}

@Suite("Documents: embeddings provider failures", .timeLimit(.minutes(1)))
struct DocumentEmbeddingsFallbackTests {
    @Test func chatsAndAgentsFallBackToBM25WhileUploadsFailCleanly() async throws {
        try await FakeUpstream.run(FakeUpstream()) { upstream in
            let llmBase = await upstream.baseURL
            try await EmbeddingsServer.run { embeddings in
                let database = try AppDatabase.inMemory()
                let embedder = OpenAIEmbeddings(settings: EmbeddingsSettings(baseURL: await embeddings.baseURL, model: "fake-embed"),
                                                client: TestHarness.httpClient)
                let retriever = DocumentRetriever(store: SQLiteDocumentStore(writer: database), embedder: embedder)
                let dependencies = Dependencies(database: database, httpClient: TestHarness.httpClient, tools: try TestHarness.tools(),
                                                retriever: retriever)
                var configuration = AgentHost.Configuration()
                configuration.jwtSecret = TestHarness.secret
                configuration.llm = ProviderSettings(kind: .openai, baseURL: llmBase + "/v1", apiKey: "k", model: "fake-model",
                                                     timeouts: .init(connect: .seconds(2), firstToken: .seconds(5), idle: .seconds(1)),
                                                     retry: .init(maxRetries: 1, initialBackoff: .milliseconds(10)))
                let store = dependencies.chats as! SQLiteStore
                let workspace = try await store.createWorkspace(Workspace(name: "Docs", slug: ""))
                var logger = Logger(label: "test")
                logger.logLevel = .critical
                let app = try await buildApplication(configuration: configuration, dependencies: dependencies, logger: logger)
                let handbook = Array("# Holidays\n\nEmployees get 25 days of paid holiday per year.".utf8)
                try await app.test(.router) { client in
                    // An upload needs its vectors: with the provider down it fails and stores nothing.
                    await embeddings.setFailing(true)
                    let failed = try await client.upload("docs", name: "handbook.md", mime: "text/markdown", data: handbook)
                    #expect(failed.status == .badGateway && failed.errorCode == "provider_error", "\(failed.text)")
                    let stored = try await database.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM documents")! }
                    #expect(stored == 0)

                    await embeddings.setFailing(false)
                    let uploaded = try await client.upload("docs", name: "handbook.md", mime: "text/markdown", data: handbook)
                    #expect(uploaded.status == .created, "\(uploaded.text)")

                    // At question time the provider is down again: the chat is answered from BM25.
                    await embeddings.setFailing(true)
                    let chat = try await client.send(.post, "/api/chats/stream_chat",
                                                     json: #"{"message": "How many holiday days do employees get?", "workspace": "docs"}"#)
                    #expect(chat.status == .ok)
                    #expect(chat.frames.map { $0["type"]?.stringValue } == ["chat_start", "chat_token", "sources", "chat_complete"],
                            "\(chat.text)")
                    let sources = try #require(chat.frames.first { $0["type"] == "sources" }?["sources"]?.arrayValue)
                    #expect(sources.first?["title"] == "handbook.md")
                    #expect(sources.first?["score"] == 1)
                    #expect(await embeddings.failures == 2, "the upload and the question both tried the provider")
                }
                // The agents' tool degrades the same way.
                let hits = try await retriever.searchDocuments(query: "paid holiday", workspaceId: workspace.id!, ownerId: nil, limit: 3)
                #expect(hits.map(\.documentName) == ["handbook.md"])
                #expect(hits.first?.vectorScore == nil)
                #expect(await embeddings.failures == 3)
            }
        }
    }
}
