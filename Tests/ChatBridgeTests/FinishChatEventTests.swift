import Foundation
import GRDB
import Testing

@testable import ChatBridge

/// A chat's answer and its event row are stored in one write (issue 17: one hop to the SQLite
/// writer per answer instead of two), and the event row can never cost the answer.
@Suite("Finishing a chat with its event row")
struct FinishChatEventTests {
    static func begunChat(_ store: SQLiteStore) async throws -> Chat {
        let workspace = try await store.createWorkspace(Workspace(name: "W", slug: ""))
        return try await store.beginChat(Chat(workspaceId: workspace.id!, threadId: nil, userId: nil, prompt: "p"),
                                         dailyLimit: nil, now: Date())
    }

    static let outcome = ChatOutcome(response: "answer", status: .completed, usage: Usage(promptTokens: 3, completionTokens: 1),
                                     model: "m", sources: [ChatSource(title: "Doc", chunk: "c", score: 0.5, documentId: 7)], error: nil)

    @Test func theAnswerAndItsEventRowAreStoredTogether() async throws {
        let writer = try AppDatabase.inMemory()
        let store = SQLiteStore(writer: writer)
        let chat = try await Self.begunChat(store)
        let event = EventLog(event: "chat", workspaceId: chat.workspaceId, userId: nil, chatId: chat.id,
                             metadata: ["transport": "openai", "status": "completed"])
        let recorded = try await store.finishChat(id: chat.id!, outcome: Self.outcome, recording: event)
        #expect(throws: Never.self) { try recorded.get() }

        // The same row and the same event as the two separate writes make.
        let other = try await Self.begunChat(store)
        try await store.finishChat(id: other.id!, outcome: Self.outcome)
        try await store.record(EventLog(event: "chat", workspaceId: other.workspaceId, userId: nil, chatId: other.id,
                                        metadata: ["transport": "openai", "status": "completed"]))
        let rows = try await writer.read { db in
            try Row.fetchAll(db, sql: """
                SELECT response, status, prompt_tokens, completion_tokens, model, sources, error FROM workspace_chats
                WHERE id IN (?, ?) ORDER BY id
                """, arguments: [chat.id, other.id])
        }
        #expect(rows.count == 2)
        #expect(rows.first == rows.last)
        #expect(rows.first?["response"] == "answer")
        let events = try await writer.read { db in try EventLog.order(Column("id")).fetchAll(db) }
        #expect(events.map(\.chatId) == [chat.id, other.id])
        #expect(events.map(\.metadata) == [event.metadata, event.metadata])
    }

    @Test func aFailingEventRowLeavesTheAnswerStored() async throws {
        let writer = try AppDatabase.inMemory()
        let store = SQLiteStore(writer: writer)
        let chat = try await Self.begunChat(store)
        try await writer.write { db in
            try db.execute(sql: "CREATE TRIGGER no_events BEFORE INSERT ON event_logs BEGIN SELECT RAISE(ABORT, 'no events'); END")
        }
        let recorded = try await store.finishChat(id: chat.id!, outcome: Self.outcome, recording: EventLog(
            event: "chat", workspaceId: chat.workspaceId, userId: nil, chatId: chat.id, metadata: [:]))
        #expect(throws: (any Error).self) { try recorded.get() }
        let stored = try #require(try await writer.read { db in try Chat.fetchOne(db, key: chat.id) })
        #expect(stored.response == "answer")
        #expect(stored.status == .completed)
        #expect(try await writer.read { db in try EventLog.fetchCount(db) } == 0)
    }
}
