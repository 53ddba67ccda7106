import AgentHostTesting
import ChatBridge
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Synchronization
import Testing

@testable import AgentHost

/// The model request of a chat goes out while its prompt row is being stored (issue 17: time to
/// first token), and nothing that may refuse the chat lets a request reach the model first.
@Suite("Model request sent while the prompt is stored")
struct EarlyUpstreamTests {
    /// What a test does inside `beginChat`, before the row is written: watch the upstream, or fail.
    final class BeginHook: Sendable {
        let action = Mutex<(@Sendable () async throws -> Void)?>(nil)

        func set(_ action: @escaping @Sendable () async throws -> Void) {
            self.action.withLock { $0 = action }
        }
    }

    struct StoreDown: Error {}

    /// An in-memory SQLite storage whose chat store runs `hook` at the start of every `beginChat`.
    static func storage(hook: BeginHook) throws -> (Storage, base: any ChatStore) {
        var storage = Storage.sqlite(try AppDatabase.inMemory())
        let base = storage.chats
        storage.chats = HookedChatStore(base: base, hook: hook)
        return (storage, base)
    }

    /// Waits (at most 5 s) until the upstream has received `count` requests; whether it did.
    static func upstream(_ upstream: FakeUpstream, received count: Int) async -> Bool {
        for _ in 0..<500 {
            if await upstream.exchanges.count >= count { return true }
            try? await Task.sleep(for: .milliseconds(10))
        }
        return false
    }

    static let endpoints: [(path: String, body: String)] = [
        ("/v1/chat/completions", #"{"model": "docs", "stream": true, "messages": [{"role": "user", "content": "hi"}]}"#),
        ("/api/chats/stream_chat", #"{"message": "hi", "workspace": "docs"}"#),
    ]

    @Test(arguments: 0..<endpoints.count)
    func theModelRequestGoesOutBeforeThePromptRowIsWritten(_ endpoint: Int) async throws {
        let hook = BeginHook()
        let (storage, base) = try Self.storage(hook: hook)
        try await TestHarness.withUpstream(storage: storage) { harness, upstream in
            _ = try await base.createWorkspace(Workspace(name: "Docs", slug: ""))
            await upstream.enqueue(VendorStream.openAI(tokens: ["Hel", "lo"]))
            let sawRequestFirst = Mutex<Bool?>(nil)
            // Before the overlap, the row was written before the request was made: this waited 5 s in vain.
            hook.set {
                let seen = await Self.upstream(upstream, received: 1)
                sawRequestFirst.withLock { $0 = seen }
            }
            try await harness.testLive { client in
                let response = try await client.send(.post, Self.endpoints[endpoint].path, json: Self.endpoints[endpoint].body)
                #expect(response.status == .ok)
                #expect(response.text.contains("Hel") && response.text.contains("lo"))
            }
            #expect(sawRequestFirst.withLock { $0 } == true)
            #expect(await upstream.exchanges.count == 1)
            let stored = try #require(try await base.chats(ChatListQuery(), viewer: .singleUser).chats.first)
            #expect(stored.chat.prompt == "hi")
            #expect(stored.chat.response == "Hello")
            #expect(stored.chat.status == .completed)
        }
    }

    @Test(arguments: 0..<endpoints.count)
    func aFailedPromptStoreCancelsTheModelRequest(_ endpoint: Int) async throws {
        let hook = BeginHook()
        let (storage, base) = try Self.storage(hook: hook)
        try await TestHarness.withUpstream(storage: storage) { harness, upstream in
            _ = try await base.createWorkspace(Workspace(name: "Docs", slug: ""))
            // Four seconds of tokens: only a cancelled request ends before them.
            await upstream.enqueue(VendorStream.openAI(tokens: Array(repeating: "t", count: 200)).paced(.milliseconds(20)))
            hook.set {
                _ = await Self.upstream(upstream, received: 1)
                throw StoreDown()
            }
            try await harness.testLive { client in
                let response = try await client.send(.post, Self.endpoints[endpoint].path, json: Self.endpoints[endpoint].body)
                #expect(response.status == .internalServerError)
            }
            let exchanges = await upstream.waitForEndedExchanges(1, timeout: .seconds(3))
            let exchange = try #require(exchanges.first)
            #expect(exchange.abandoned)
            #expect(exchanges.count == 1)
            #expect(try await base.chats(ChatListQuery(), viewer: .singleUser).chats.isEmpty)
        }
    }

    @Test(arguments: 0..<endpoints.count)
    func aDailyLimitRefusesBeforeTheModelHearsOfTheChat(_ endpoint: Int) async throws {
        let hook = BeginHook()
        let (storage, base) = try Self.storage(hook: hook)
        try await TestHarness.withUpstream(storage: storage) { harness, upstream in
            _ = try await base.createWorkspace(Workspace(name: "Docs", slug: ""))
            let alice = try await storage.accounts.createUser(User(
                username: "alice", passwordHash: try harness.hasher.hash("password123"), dailyMessageLimit: 1))
            let headers = try await harness.headers(for: alice)
            // How many requests the upstream had seen each time a prompt row was about to be written.
            let seenAtBegin = Mutex<[Int]>([])
            hook.set {
                let seen = await upstream.exchanges.count
                seenAtBegin.withLock { $0.append(seen) }
            }
            try await harness.testLive { client in
                let first = try await client.send(.post, Self.endpoints[endpoint].path, headers: headers, json: Self.endpoints[endpoint].body)
                #expect(first.status == .ok)
                let second = try await client.send(.post, Self.endpoints[endpoint].path, headers: headers, json: Self.endpoints[endpoint].body)
                #expect(second.status == .tooManyRequests)
                #expect(second.errorCode == "rate_limited")
            }
            #expect(seenAtBegin.withLock { $0 } == [0, 1])
            #expect(await upstream.exchanges.count == 1)
        }
    }
}

/// A chat store that runs a test's hook before every `beginChat`, and otherwise is `base`.
private struct HookedChatStore: ChatStore {
    let base: any ChatStore
    let hook: EarlyUpstreamTests.BeginHook

    func beginChat(_ chat: Chat, dailyLimit: Int?, now: Date) async throws -> Chat {
        if let action = hook.action.withLock({ $0 }) { try await action() }
        return try await base.beginChat(chat, dailyLimit: dailyLimit, now: now)
    }

    func createWorkspace(_ workspace: Workspace) async throws -> Workspace { try await base.createWorkspace(workspace) }
    func workspaces() async throws -> [Workspace] { try await base.workspaces() }
    func workspace(slug: String) async throws -> Workspace? { try await base.workspace(slug: slug) }
    func updateWorkspace(_ workspace: Workspace) async throws -> Workspace { try await base.updateWorkspace(workspace) }
    func createThread(workspaceId: Int64, userId: Int64?, name: String) async throws -> ChatThread {
        try await base.createThread(workspaceId: workspaceId, userId: userId, name: name)
    }
    func threads(workspaceId: Int64, viewer: Viewer) async throws -> [ChatThread] {
        try await base.threads(workspaceId: workspaceId, viewer: viewer)
    }
    func thread(workspaceId: Int64, slug: String, viewer: Viewer) async throws -> ChatThread? {
        try await base.thread(workspaceId: workspaceId, slug: slug, viewer: viewer)
    }
    func chats(_ query: ChatListQuery, viewer: Viewer) async throws -> ChatPage { try await base.chats(query, viewer: viewer) }
    func history(_ query: HistoryQuery, viewer: Viewer) async throws -> [ChatEntry] { try await base.history(query, viewer: viewer) }
    func chat(id: Int64, viewer: Viewer) async throws -> ChatEntry? { try await base.chat(id: id, viewer: viewer) }
    func setFeedback(chatId: Int64, feedback: Bool?, viewer: Viewer) async throws -> ChatEntry {
        try await base.setFeedback(chatId: chatId, feedback: feedback, viewer: viewer)
    }
    func setInclude(chatId: Int64, include: Bool, viewer: Viewer) async throws -> ChatEntry {
        try await base.setInclude(chatId: chatId, include: include, viewer: viewer)
    }
    func resetContext(workspaceId: Int64, threadId: Int64?, viewer: Viewer) async throws -> Int {
        try await base.resetContext(workspaceId: workspaceId, threadId: threadId, viewer: viewer)
    }
    func finishChat(id: Int64, outcome: ChatOutcome) async throws { try await base.finishChat(id: id, outcome: outcome) }
    func contextWindow(_ conversation: Conversation, limit: Int) async throws -> [ContextTurn] {
        try await base.contextWindow(conversation, limit: limit)
    }
    func searchChats(workspaceId: Int64, text: String, viewer: Viewer, limit: Int) async throws -> [Chat] {
        try await base.searchChats(workspaceId: workspaceId, text: text, viewer: viewer, limit: limit)
    }
    func welcomeMessages(forUserId userId: Int64?) async throws -> [WelcomeMessage] { try await base.welcomeMessages(forUserId: userId) }
    func addWelcomeMessage(_ message: WelcomeMessage) async throws -> WelcomeMessage { try await base.addWelcomeMessage(message) }
    func record(_ event: EventLog) async throws { try await base.record(event) }
}
