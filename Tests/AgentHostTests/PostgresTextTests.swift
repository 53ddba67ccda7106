import ChatBridge
import Foundation
import Testing

extension PostgresBacked {
    @Suite("PostgreSQL text values")
    struct TextValues {
        /// JSON strings may hold U+0000 and PostgreSQL's text may not: storing one is the client's
        /// `validation_failed`, not an `internal` error, and the connection stays usable.
        @Test func aNulCharacterIsAValidationError() async throws {
            try await Backend.withPostgres { database in
                let storage = Storage.postgres(database)
                let workspace = try await storage.chats.createWorkspace(Workspace(name: "W", slug: ""))
                await #expect(throws: APIError.self) {
                    do {
                        _ = try await storage.chats.createThread(workspaceId: workspace.id!, userId: nil, name: "t\u{0}x")
                    } catch let error as APIError {
                        #expect(error.code == .validationFailed)
                        #expect(error.message.contains("U+0000"))
                        throw error
                    }
                }
                let thread = try await storage.chats.createThread(workspaceId: workspace.id!, userId: nil, name: "tx")
                #expect(thread.name == "tx")
            }
        }
    }
}
