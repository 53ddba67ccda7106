import AgentHostTesting
import ChatBridge
import Foundation
import GRDB
import Hummingbird
import HummingbirdTesting
import Logging
import Testing

@testable import AgentHost

@Suite("Documents: embeddings provider failures", .timeLimit(.minutes(1)))
struct DocumentEmbeddingsFallbackTests {
    @Test func chatsAndAgentsFallBackToBM25WhileUploadsFailCleanly() async throws {
        try await FakeUpstream.run(FakeUpstream()) { upstream in
            let llmBase = await upstream.baseURL
            // One fake serves both the model and the embeddings provider, which is switched off and on below.
            let embeddings = upstream
            let database = try AppDatabase.inMemory()
            let embedder = OpenAIEmbeddings(settings: EmbeddingsSettings(baseURL: await embeddings.baseURL + "/v1", model: "fake-embed"),
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
                await embeddings.setEmbeddingsFailing(true)
                let failed = try await client.upload("docs", name: "handbook.md", mime: "text/markdown", data: handbook)
                #expect(failed.status == .badGateway && failed.errorCode == "provider_error", "\(failed.text)")
                let stored = try await database.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM documents")! }
                #expect(stored == 0)

                await embeddings.setEmbeddingsFailing(false)
                let uploaded = try await client.upload("docs", name: "handbook.md", mime: "text/markdown", data: handbook)
                #expect(uploaded.status == .created, "\(uploaded.text)")

                // At question time the provider is down again: the chat is answered from BM25.
                await embeddings.setEmbeddingsFailing(true)
                let chat = try await client.send(.post, "/api/chats/stream_chat",
                                                 json: #"{"message": "How many holiday days do employees get?", "workspace": "docs"}"#)
                #expect(chat.status == .ok)
                #expect(chat.frames.map { $0["type"]?.stringValue } == ["chat_start", "chat_token", "sources", "chat_complete"],
                        "\(chat.text)")
                let sources = try #require(chat.frames.first { $0["type"] == "sources" }?["sources"]?.arrayValue)
                #expect(sources.first?["title"] == "handbook.md")
                #expect(sources.first?["score"] == 1)
                #expect(await embeddings.embeddingFailures == 2, "the upload and the question both tried the provider")
            }
            // The agents' tool degrades the same way.
            let hits = try await retriever.searchDocuments(query: "paid holiday", workspaceId: workspace.id!, ownerId: nil, limit: 3)
            #expect(hits.map(\.documentName) == ["handbook.md"])
            #expect(hits.first?.vectorScore == nil)
            #expect(await embeddings.embeddingFailures == 3)
        }
    }
}
