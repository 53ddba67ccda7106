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
        let registry = try ToolRegistry(schemaDirectory: realSchemaDirectory, tools: ToolRegistry.builtInTools())
            .bindingDocumentSearch(to: retriever)
        let context = fixture.context()
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
        // Binding replaces only search_documents; the other tools and every spec stay.
        let unbound = try ToolRegistry(schemaDirectory: realSchemaDirectory, tools: ToolRegistry.builtInTools())
        #expect(registry.specs == unbound.specs)
        #expect(registry.names.allSatisfy { name in
            registry.tool(named: name).map { ObjectIdentifier(type(of: $0)) } == unbound.tool(named: name).map { ObjectIdentifier(type(of: $0)) }
        })
    }

    @Test func searchesOnlyTheViewersOwnDocumentsAdminsIncluded() async throws {
        let fixture = try await StoreFixture()
        let ana = try await fixture.user("ana"), bob = try await fixture.user("bob")
        let admin = Viewer(userId: try #require(try await fixture.store.createUser(User(username: "root", passwordHash: "x", role: .admin)).id),
                           isAdmin: true)
        let documents = SQLiteDocumentStore(writer: fixture.store.writer)
        let ingestor = DocumentIngestor(store: documents, settings: DocumentSettings(), embedder: nil)
        _ = try await ingestor.ingest(workspaceId: fixture.workspaceId, userId: ana.userId, name: "ana.txt", mime: "text/plain",
                                               data: Array("The vault code is 4711.".utf8))
        let pinned = try await ingestor.ingest(workspaceId: fixture.workspaceId, userId: ana.userId, name: "ana-pinned.txt",
                                               mime: "text/plain", data: Array("The vault key hangs behind the door.".utf8))
        _ = try await documents.setPinned(id: pinned.id!, workspaceId: fixture.workspaceId, pinned: true, viewer: ana)
        let tool = SearchDocumentsTool(documents: DocumentRetriever(store: documents))
        func titles(_ viewer: Viewer) async throws -> [String] {
            let output = try await tool.run(arguments: ["query": "vault code key"], context: fixture.context(viewer: viewer))
            return try #require(output["results"]?.arrayValue).compactMap { $0["title"]?.stringValue }
        }
        #expect(try await Set(titles(ana)) == ["ana.txt", "ana-pinned.txt"])
        #expect(try await titles(bob) == [])
        #expect(try await titles(admin) == [], "administrators search their own documents, as their history is their own")
        #expect(try await titles(.singleUser) == [], "single-user mode reads the documents without owner")
    }

    @Test func withoutDocumentSearchTheModelIsTold() async throws {
        let fixture = try await StoreFixture()
        let error = await #expect(throws: ToolError.self) {
            try await SearchDocumentsTool().run(arguments: ["query": "x"], context: fixture.context())
        }
        #expect(error?.message == "Document search is not available on this server.")
    }
}
