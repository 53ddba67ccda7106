import ChatBridge
import Foundation
import Testing

extension PostgresBacked {
    @Suite("PostgreSQL daily limit")
    struct DailyLimit {
        /// 50 requests of one user at once, over 20 pooled connections, against a limit of 7: exactly
        /// 7 are admitted and 43 refused with `rate_limited`, never more (the per-user lock serialises
        /// the count and the insert of concurrent transactions).
        @Test func fiftyParallelRequestsNeverOverAdmit() async throws {
            try await Backend.withPostgres(maximumConnections: 20) { database in
                let storage = Storage.postgres(database)
                let user = try await storage.accounts.createUser(User(username: "u", passwordHash: "h", dailyMessageLimit: 7))
                let workspace = try await storage.chats.createWorkspace(Workspace(name: "W", slug: ""))
                let now = Date()
                let outcomes = try await withThrowingTaskGroup(of: Bool.self) { group in
                    for index in 0..<50 {
                        group.addTask {
                            do {
                                _ = try await storage.chats.beginChat(
                                    Chat(workspaceId: workspace.id!, threadId: nil, userId: user.id, prompt: "p\(index)"),
                                    dailyLimit: 7, now: now)
                                return true
                            } catch let error as APIError where error.code == .rateLimited {
                                return false
                            }
                        }
                    }
                    return try await group.reduce(into: [Bool]()) { $0.append($1) }
                }
                #expect(outcomes.count == 50)
                #expect(outcomes.filter { $0 }.count == 7)
                let stored = try await storage.chats.chats(ChatListQuery(limit: 100), viewer: .singleUser).chats.count
                #expect(stored == 7)
            }
        }
    }
}
