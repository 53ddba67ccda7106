import ChatBridge
import Foundation
import Testing
@testable import Tools

@Suite struct SearchChatsToolTests {
    @Test func findsCompletedChatsOfTheWorkspaceNewestFirst() async throws {
        let fixture = try await StoreFixture()
        let other = try #require(try await fixture.store.createWorkspace(Workspace(name: "Other", slug: "")).id)
        let first = try await fixture.chat("How do I bake bread?", "Use flour, water, salt and yeast.")
        try await fixture.chat("Invoice for Dupont", "Sent on Monday.")
        let long = try await fixture.chat("Sourdough bread schedule", String(repeating: "knead and wait. ", count: 100))
        try await fixture.chat("bread elsewhere", "other workspace", workspaceId: other)
        try await fixture.chat("bread in progress", "", status: .streaming)

        let output = try await SearchChatsTool().run(arguments: ["query": "bread"], context: fixture.context())
        let results = try #require(output["results"]?.arrayValue)
        #expect(results.map { $0["db_id"] } == [long.id, first.id].map { .number(Double($0 ?? -1)) })
        #expect(results.last?["prompt"] == "How do I bake bread?")
        #expect(results.last?["response"] == "Use flour, water, salt and yeast.")
        #expect(results.last?["created_at"] == .string(Timestamp.string(from: first.createdAt)))

        let response = try #require(results.first?["response"]?.stringValue)
        #expect(response.count == SearchChatsTool.excerptLength + 1)
        #expect(response.hasSuffix("…"))
        #expect(response.hasPrefix("knead and wait."))
    }

    @Test func everyWordMustMatchAndLimitApplies() async throws {
        let fixture = try await StoreFixture()
        for index in 1...8 { try await fixture.chat("report \(index)", "quarterly numbers") }
        try await fixture.chat("report draft", "annual")
        let context = fixture.context()

        let both = try await SearchChatsTool().run(arguments: ["query": "report annual"], context: context)
        #expect(both["results"]?.arrayValue?.map { $0["prompt"] } == ["report draft"])
        let defaulted = try await SearchChatsTool().run(arguments: ["query": "report"], context: context)
        #expect(defaulted["results"]?.arrayValue?.count == SearchChatsTool.defaultLimit)
        let two = try await SearchChatsTool().run(arguments: ["query": "quarterly", "limit": 2], context: context)
        #expect(two["results"]?.arrayValue?.map { $0["prompt"] } == ["report 8", "report 7"])
        let none = try await SearchChatsTool().run(arguments: ["query": "zebra"], context: context)
        #expect(none == ["results": []])
    }

    @Test func usersOnlyFindTheirOwnChats() async throws {
        let fixture = try await StoreFixture()
        let alice = try await fixture.user("alice")
        let bob = try await fixture.user("bob")
        try await fixture.chat("alice secret plan", "ok", userId: alice.userId)
        try await fixture.chat("bob secret plan", "ok", userId: bob.userId)

        let forAlice = try await SearchChatsTool().run(arguments: ["query": "secret"], context: fixture.context(viewer: alice))
        #expect(forAlice["results"]?.arrayValue?.map { $0["prompt"] } == ["alice secret plan"])
        let forAdmin = try await SearchChatsTool().run(arguments: ["query": "secret"], context: fixture.context())
        #expect(forAdmin["results"]?.arrayValue?.count == 2)
    }

    @Test func schemaRejectsBadArgumentsBeforeTheToolRuns() async throws {
        let fixture = try await StoreFixture()
        let registry = try ToolRegistry(schemaDirectory: realSchemaDirectory, tools: ToolRegistry.builtInTools())
        let error = await #expect(throws: ToolError.self) {
            try await registry.run("search_chats", arguments: ["query": "", "limit": 50], context: fixture.context())
        }
        #expect(error?.message ==
            "Invalid arguments for tool 'search_chats': $.limit must be <= 20 (got 50); $.query must be at least 1 character long (got 0 characters)")
    }
}

@Suite struct WorkspaceNotesToolTests {
    private let tool = WorkspaceNotesTool()

    @Test func saveListDelete() async throws {
        let fixture = try await StoreFixture()
        let context = fixture.context(now: { fixedNow })

        let saved = try await tool.run(arguments: ["action": "save", "title": "Deploy", "content": "Fridays are off limits"], context: context)
        let note = try #require(saved["note"])
        let id = try #require(note["note_id"]?.intValue)
        #expect(note == ["note_id": .number(Double(id)), "title": "Deploy", "content": "Fridays are off limits",
                         "created_at": "2026-11-25T10:00:00.000Z"])

        _ = try await tool.run(arguments: ["action": "save", "title": "Second", "content": "B"], context: context)
        let listed = try await tool.run(arguments: ["action": "list"], context: context)
        #expect(listed["notes"]?.arrayValue?.map { $0["title"] } == ["Deploy", "Second"])
        #expect(listed["notes"]?.arrayValue?.first == note)

        let deleted = try await tool.run(arguments: ["action": "delete", "note_id": .number(Double(id))], context: context)
        #expect(deleted == ["deleted": true, "note_id": .number(Double(id))])
        #expect(try await tool.run(arguments: ["action": "list"], context: context)["notes"]?.arrayValue?.map { $0["title"] } == ["Second"])

        let again = await #expect(throws: ToolError.self) {
            try await tool.run(arguments: ["action": "delete", "note_id": .number(Double(id))], context: context)
        }
        #expect(again?.message.contains("no note with note_id \(id)") == true)
    }

    @Test func saveNeedsTitleAndContent() async throws {
        let fixture = try await StoreFixture()
        for arguments: JSONValue in [["action": "save", "title": "T"], ["action": "save", "content": "C"],
                                     ["action": "save", "title": "  ", "content": "C"]] {
            let error = await #expect(throws: ToolError.self) { try await tool.run(arguments: arguments, context: fixture.context()) }
            #expect(error?.message.contains("'title'") == true)
        }
        #expect(try await tool.run(arguments: ["action": "list"], context: fixture.context()) == ["notes": []])
    }

    @Test func deleteNeedsANoteId() async throws {
        let fixture = try await StoreFixture()
        let error = await #expect(throws: ToolError.self) {
            try await tool.run(arguments: ["action": "delete"], context: fixture.context())
        }
        #expect(error?.message.contains("note_id") == true)
        await #expect(throws: ToolError.self) {
            try await tool.run(arguments: ["action": "archive"], context: fixture.context())
        }
    }

    @Test func notesArePrivateToTheirUserAndWorkspace() async throws {
        let fixture = try await StoreFixture()
        let alice = try await fixture.user("alice")
        let bob = try await fixture.user("bob")
        let otherWorkspace = try #require(try await fixture.store.createWorkspace(Workspace(name: "Other", slug: "")).id)

        let saved = try await tool.run(arguments: ["action": "save", "title": "Alice's", "content": "mine"],
                                       context: fixture.context(viewer: alice))
        let id = try #require(saved["note"]?["note_id"])

        #expect(try await tool.run(arguments: ["action": "list"], context: fixture.context(viewer: bob)) == ["notes": []])
        #expect(try await tool.run(arguments: ["action": "list"], context: fixture.context(viewer: alice, workspaceId: otherWorkspace))
            == ["notes": []])
        await #expect(throws: ToolError.self) {
            try await tool.run(arguments: ["action": "delete", "note_id": id], context: fixture.context(viewer: bob))
        }
        await #expect(throws: ToolError.self) {
            try await tool.run(arguments: ["action": "delete", "note_id": id], context: fixture.context(viewer: alice, workspaceId: otherWorkspace))
        }
        // Bob's failed attempts left the note in place.
        #expect(try await tool.run(arguments: ["action": "list"], context: fixture.context(viewer: alice))["notes"]?.arrayValue?.count == 1)
        #expect(try await tool.run(arguments: ["action": "delete", "note_id": id], context: fixture.context(viewer: alice))["deleted"] == true)
    }
}
