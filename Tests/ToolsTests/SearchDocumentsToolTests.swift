import ChatBridge
import Foundation
import Testing
@testable import Tools

@Suite struct SearchDocumentsToolTests {
    @Test func findsPassagesThroughTheRetrieverAboveTheThreshold() async throws {
        let fixture = try await StoreFixture()
        let documents = SQLiteDocumentStore(writer: fixture.store.writer)
        let document = try await DocumentIngestor(store: documents, settings: DocumentSettings(), embedder: nil).ingest(
            workspaceId: fixture.workspaceId, userId: nil, name: "handbook.md", mime: "text/markdown",
            data: Array("# Holidays\n\nEmployees get 25 days of paid holiday.\n\n# Security\n\nLaptops use disk encryption.".utf8))
        let retriever = DocumentRetriever(store: documents)
        var context = fixture.context()
        context.documents = retriever
        let registry = try ToolRegistry(schemaDirectory: realSchemaDirectory, tools: ToolRegistry.builtInTools())
        let output = try await registry.run("search_documents", arguments: ["query": "holiday days", "limit": 3], context: context)
        let results = try #require(output["results"]?.arrayValue)
        #expect(results.count == 1)
        #expect(results[0]["title"] == "handbook.md")
        #expect(results[0]["heading"] == "Holidays")
        #expect(results[0]["chunk"] == "Employees get 25 days of paid holiday.")
        #expect(results[0]["document_id"]?.intValue == Int(document.id!))
        #expect(results[0]["score"] == 1)
        // Nothing passes the workspace's threshold: an empty list, not an error.
        let none = try await registry.run("search_documents", arguments: ["query": "parking bicycles"], context: context)
        #expect(none["results"] == [])
        // Schema checks apply before the tool runs.
        await #expect(throws: ToolError.self) {
            try await registry.run("search_documents", arguments: ["query": "x", "limit": 50], context: context)
        }
    }

    @Test func withoutDocumentSearchTheModelIsTold() async throws {
        let fixture = try await StoreFixture()
        let error = await #expect(throws: ToolError.self) {
            try await SearchDocumentsTool().run(arguments: ["query": "x"], context: fixture.context())
        }
        #expect(error?.message == "Document search is not available on this server.")
    }
}
