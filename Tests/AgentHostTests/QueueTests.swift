import AgentHostTesting
import AsyncHTTPClient
import CoreMetrics
import ChatBridge
import Foundation
import NIOCore
import Synchronization
import Testing

@testable import AgentHost

/// The per-provider concurrency limit and its fair queue (PROTOCOL §4 queuing), against a fake
/// upstream on a real socket that records when each request was open.
@Suite("Provider queue", .serialized, .timeLimit(.minutes(1)))
struct QueueTests {
    typealias Support = QueueTestSupport

    @Test func limitHeldUnderABurst() async throws {
        try await TestHarness.withUpstream(configure: Support.limit(2)) { harness, upstream in
            try await harness.addWorkspace("Docs")
            for _ in 0..<12 { await upstream.enqueue(Support.slow(3, .milliseconds(40))) }
            try await harness.testLive { client in
                let port = try #require(client.port)
                let results = try await withThrowingTaskGroup(of: LiveChatResult.self) { group in
                    for index in 0..<12 {
                        group.addTask { try await Support.streamChat(port: port, message: "burst \(index)") }
                    }
                    return try await group.reduce(into: []) { $0.append($1) }
                }
                #expect(results.count == 12)
                #expect(results.allSatisfy { $0.status == 200 && $0.frames.last?["type"] == "chat_complete" },
                        "every admitted chat completes")
                #expect(results.filter { !$0.frames("chat_queued").isEmpty }.count >= 8, "all but the first two waited")
                let exchanges = await upstream.waitForEndedExchanges(12)
                #expect(exchanges.count == 12)
                #expect(FakeUpstream.maxOverlap(exchanges) <= 2, "never more than --llm-max-concurrency upstream requests")
                #expect(FakeUpstream.maxOverlap(exchanges) == 2, "the two slots are used")
            }
        }
    }

    @Test func chatQueuedPositionsInOrder() async throws {
        try await TestHarness.withUpstream(configure: Support.limit(1)) { harness, upstream in
            try await harness.addWorkspace("Docs")
            await upstream.enqueue(Support.slow(6, .milliseconds(180)), Support.slow(6, .milliseconds(250)),
                                   VendorStream.openAI(tokens: ["c"]))
            try await harness.testLive { client in
                let port = try #require(client.port)
                async let first = Support.streamChat(port: port, message: "A")
                try await Task.sleep(for: .milliseconds(200))
                async let second = Support.streamChat(port: port, message: "B")
                try await Task.sleep(for: .milliseconds(200))
                let third = try await Support.streamChat(port: port, message: "C")
                let (a, b) = try await (first, second)
                #expect(a.frames("chat_queued").isEmpty, "the first chat finds a free slot")
                #expect(b.frames("chat_queued").compactMap { $0["position"]?.intValue } == [1])
                #expect(third.frames("chat_queued").compactMap { $0["position"]?.intValue } == [2, 1])
                // chat_start, then the positions, then the tokens; seq stays gapless.
                #expect(third.frames.map(\.type) == ["chat_start", "chat_queued", "chat_queued", "chat_token", "chat_complete"])
                #expect(third.frames.compactMap { $0["seq"]?.intValue } == Array(0..<third.frames.count))
                let chatId = try #require(third.frames.first?["chat_id"]?.stringValue)
                #expect(third.frames("chat_queued").allSatisfy { $0["chat_id"]?.stringValue == chatId })
                let queueMs = try #require(third.frames.last?["metrics"]?["queue_ms"]?.doubleValue)
                #expect(queueMs > 1000, "the wait is part of the chat's metrics")
                let order = await upstream.exchanges.compactMap(Support.prompt)
                #expect(order == ["A", "B", "C"])

                let events = try await harness.store.writer.read { db in try EventLog.fetchAll(db) }
                let stored = try #require(events.first { $0.chatId == Int64(third.frames.last?["db_id"]?.intValue ?? -1) })
                #expect(Double(stored.metadata["queue_ms"] ?? "") ?? 0 > 1000, "queue_ms is stored with the chat")
            }
        }
    }

    @Test func overloadedWithRetryAfterPastQueueMax() async throws {
        try await TestHarness.withUpstream(configure: Support.limit(1, maxWaiting: 1)) { harness, upstream in
            try await harness.addWorkspace("Docs")
            await upstream.enqueue(Support.slow(5, .milliseconds(120)), VendorStream.openAI(tokens: ["b"]))
            try await harness.testLive { client in
                let port = try #require(client.port)
                async let first = Support.streamChat(port: port, message: "A")
                try await Task.sleep(for: .milliseconds(150))
                async let second = Support.streamChat(port: port, message: "B")
                try await Task.sleep(for: .milliseconds(150))
                let refused = try await Support.streamChat(port: port, message: "C")
                #expect(refused.status == 503)
                let retryAfter = try #require(refused.retryAfter.flatMap(Int.init))
                #expect(retryAfter >= 1)
                #expect(refused.errorBody?["error"]?["code"] == "overloaded")
                #expect(refused.errorBody?["error"]?["retry_after"]?.intValue == retryAfter)
                let (a, b) = try await (first, second)
                #expect(a.frames.last?["type"] == "chat_complete")
                #expect(b.frames.last?["type"] == "chat_complete")
                let stored = try await harness.store.chats(ChatListQuery(), viewer: .singleUser).chats.map(\.chat.prompt)
                #expect(Set(stored) == ["A", "B"], "a refused chat leaves no row")
            }
        }
    }

    @Test func queueTimeoutEndsTheStreamWithOverloaded() async throws {
        try await TestHarness.withUpstream(configure: Support.limit(1, timeout: .seconds(1))) { harness, upstream in
            try await harness.addWorkspace("Docs")
            await upstream.enqueue(Support.slow(8, .milliseconds(250)))
            try await harness.testLive { client in
                let port = try #require(client.port)
                async let first = Support.streamChat(port: port, message: "A")
                try await Task.sleep(for: .milliseconds(150))
                let late = try await Support.streamChat(port: port, message: "B")
                #expect(late.status == 200, "the stream had started (chat_start) when the wait began")
                #expect(late.frames.map(\.type) == ["chat_start", "chat_queued", "error"])
                let error = try #require(late.frames.last)
                #expect(error["code"] == "overloaded")
                #expect((error["retry_after"]?.intValue ?? 0) >= 1)
                #expect(error["db_id"]?.intValue != nil, "the prompt row is stored, failed")
                #expect(try await first.frames.last?["type"] == "chat_complete")
                let exchanges = await upstream.exchanges
                #expect(exchanges.compactMap(Support.prompt) == ["A"], "the timed-out chat never reached the upstream")
            }
        }
    }

    @Test func fairBetweenTwoUsers() async throws {
        try await TestHarness.withUpstream(configure: Support.limit(1)) { harness, upstream in
            try await harness.addWorkspace("Docs")
            let alice = try await harness.headers(for: try await harness.addUser("alice"))
            let bob = try await harness.headers(for: try await harness.addUser("bob"))
            for _ in 0..<7 { await upstream.enqueue(Support.slow(3, .milliseconds(60))) }
            try await harness.testLive { client in
                let port = try #require(client.port)
                let aliceAuth = [("authorization", try #require(alice[.authorization]))]
                let bobAuth = [("authorization", try #require(bob[.authorization]))]
                try await withThrowingTaskGroup(of: LiveChatResult.self) { group in
                    for index in 0..<6 {
                        group.addTask { try await Support.streamChat(port: port, message: "alice \(index)", headers: aliceAuth) }
                    }
                    try await Task.sleep(for: .milliseconds(150))
                    group.addTask { try await Support.streamChat(port: port, message: "bob", headers: bobAuth) }
                    for try await result in group { #expect(result.frames.last?["type"] == "chat_complete") }
                }
                let order = await upstream.exchanges.compactMap(Support.prompt)
                #expect(order.count == 7)
                let bobIndex = try #require(order.firstIndex(of: "bob"))
                // Alice's first chat holds the slot, her second is next in the round; then Bob's turn.
                #expect(bobIndex <= 2, "bob waited behind at most two of alice's burst; order: \(order)")
            }
        }
    }

    @Test func agentStepGoesAheadOfABurstOfChats() async throws {
        try await TestHarness.withUpstream(configure: Support.limit(1)) { harness, upstream in
            try await harness.addWorkspace("Docs")
            // Step 1 asks for the calculator, slowly; then answers for everyone, also slow.
            await upstream.enqueue(VendorStream.openAIToolCalls([(id: "c1", name: "calculator", arguments: #"{"expression": "2+2"}"#)])
                .paced(.milliseconds(60)))
            for _ in 0..<6 { await upstream.enqueue(Support.slow(3, .milliseconds(60))) }
            try await harness.testLive { client in
                let port = try #require(client.port)
                try await client.agentSocket("docs") { socket in
                    try await socket.send(["type": "agent_invoke", "message": "What is 2+2?", "tools": ["calculator"]])
                    _ = try await socket.next("agent_start")
                    try await Task.sleep(for: .milliseconds(100))
                    try await withThrowingTaskGroup(of: LiveChatResult.self) { group in
                        for index in 0..<5 {
                            group.addTask { try await Support.streamChat(port: port, message: "chat \(index)") }
                        }
                        let complete = try await socket.next("agent_complete")
                        #expect(complete["status"] == "completed")
                        for try await result in group { #expect(result.frames.last?["type"] == "chat_complete") }
                    }
                    let queued = await socket.received.filter { $0.type == "agent_queued" }
                    #expect(queued.first?["step"]?.intValue == 2, "step 2 waited and said so")
                    #expect(queued.first?["position"]?.intValue == 1, "step 2 is next, ahead of the waiting chats")
                }
                let exchanges = await upstream.exchanges
                let step2 = try #require(exchanges.firstIndex { $0.body["messages"]?.arrayValue?.contains { $0["role"] == "tool" } == true })
                // Step 1, then the chat that took the slot while the tool ran, then step 2 — not behind all five.
                #expect(step2 <= 2, "agent step 2 was request #\(step2)")
            }
        }
    }

    @Test func cancelWhileQueuedLeavesTheQueueAtOnce() async throws {
        try await TestHarness.withUpstream(configure: Support.limit(1)) { harness, upstream in
            try await harness.addWorkspace("Docs")
            await upstream.enqueue(Support.slow(12, .milliseconds(150)), VendorStream.openAI(tokens: ["c"]))
            try await harness.testLive { client in
                let port = try #require(client.port)
                async let first = Support.streamChat(port: port, message: "A")
                try await Task.sleep(for: .milliseconds(150))
                // B waits, says so, then its client hangs up.
                try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask {
                        var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)/api/chats/stream_chat/")
                        request.method = .POST
                        request.headers.add(name: "content-type", value: "application/json")
                        request.body = .bytes(ByteBuffer(string: #"{"message": "B", "workspace": "docs"}"#))
                        let response = try await TestHarness.httpClient.execute(request, timeout: .seconds(10))
                        var parser = SSEParser()
                        for try await buffer in response.body {
                            if parser.parse(buffer.readableBytesView).contains(where: { $0.event == "chat_queued" }) { return }
                        }
                    }
                    try await group.next()
                    group.cancelAll()
                }
                let metrics = { try await client.send(.get, "/metrics").text }
                var depth: String?
                for _ in 0..<100 {
                    depth = try await metrics().split(separator: "\n").first { $0.hasPrefix(#"agenthost_queue_depth{provider="openai"}"#) }
                        .map(String.init)
                    if depth?.hasSuffix(" 0") == true || depth?.hasSuffix(" 0.0") == true { break }
                    try await Task.sleep(for: .milliseconds(20))
                }
                let line = try #require(depth)
                #expect(line.hasSuffix(" 0") || line.hasSuffix(" 0.0"), "the cancelled chat left the queue: \(line)")
                let third = try await Support.streamChat(port: port, message: "C")
                #expect(third.frames.last?["type"] == "chat_complete")
                #expect(try await first.frames.last?["type"] == "chat_complete")
                #expect(await upstream.exchanges.compactMap(Support.prompt) == ["A", "C"], "B never reached the upstream")
                var stored: Chat?
                for _ in 0..<100 {
                    stored = try await harness.store.chats(ChatListQuery(), viewer: .singleUser).chats.first { $0.chat.prompt == "B" }?.chat
                    if stored?.status != .streaming { break }
                    try await Task.sleep(for: .milliseconds(20))
                }
                #expect(stored?.status == .cancelled)
            }
        }
    }

    @Test func upstream429WithRetryAfterPausesTheQueueAndRetries() async throws {
        try await TestHarness.withUpstream { harness, upstream in
            try await harness.addWorkspace("Docs")
            // Two throttles in a row: more than the transport's own retries (1 in the harness).
            await upstream.enqueue(.error(status: 429, message: "slow down", headers: ["Retry-After": "1"]),
                                   .error(status: 429, message: "slow down", headers: ["Retry-After": "1"]),
                                   VendorStream.openAI(tokens: ["ok"]), VendorStream.openAI(tokens: ["b"]))
            try await harness.testLive { client in
                let port = try #require(client.port)
                async let first = Support.streamChat(port: port, message: "A")
                try await Task.sleep(for: .milliseconds(300))
                let second = try await Support.streamChat(port: port, message: "B")
                let a = try await first
                #expect(a.frames.map(\.type) == ["chat_start", "chat_token", "chat_complete"])
                #expect(a.frames.last?["response"] == "ok")
                #expect((a.frames.last?["metrics"]?["queue_ms"]?.doubleValue ?? 0) >= 1900, "the pauses count as queue wait")
                #expect(second.frames.last?["type"] == "chat_complete")
                let exchanges = await upstream.exchanges
                #expect(exchanges.compactMap(Support.prompt) == ["A", "A", "A", "B"], "B waited for the pause to end")
                let throttledAt = try #require(exchanges.first?.receivedAt)
                let bSent = try #require(exchanges.last?.receivedAt)
                #expect(throttledAt.duration(to: bSent) >= .milliseconds(900), "the provider's queue paused for Retry-After")
            }
        }
    }

    /// A `Retry-After` beyond any sense (it used to overflow a conversion and trap, or pause the
    /// provider for as long as it said) ends this chat `overloaded` and leaves the queue usable.
    @Test func anAbsurdRetryAfterFailsTheChatButNotTheServer() async throws {
        try await TestHarness.withUpstream(configure: Support.limit(2, timeout: .seconds(2))) { harness, upstream in
            try await harness.addWorkspace("Docs")
            await upstream.enqueue(.error(status: 429, message: "slow down", headers: ["Retry-After": "9223372036854775807"]),
                                   VendorStream.openAI(tokens: ["ok"]))
            try await harness.testLive { client in
                let port = try #require(client.port)
                let throttled = try await Support.streamChat(port: port, message: "A")
                #expect(throttled.frames.last?["type"] == "error")
                #expect(throttled.frames.last?["code"] == "overloaded")
                #expect((throttled.frames.last?["retry_after"]?.intValue ?? 0) <= 3600)
                // The pause is capped at the queue timeout (2 s): the next chat gets through.
                let next = try await Support.streamChat(port: port, message: "B")
                #expect(next.frames.last?["type"] == "chat_complete")
                #expect(next.frames.last?["response"] == "ok")
            }
        }
    }
}

/// The admission rules of one provider's queue, without a server.
@Suite("Provider queue admission")
struct ProviderQueueAdmissionTests {
    @Test func aFullQueueRefusesChatsButNotARunningAgentsNextStep() throws {
        let queue = ProviderQueue(provider: "test", limit: 1, maxWaiting: 1, timeout: .seconds(5))
        let holding = try queue.reserve(QueueClaim(user: "a"))
        let waiting = try queue.reserve(QueueClaim(user: "b"))
        #expect(throws: APIError.self) { try queue.reserve(QueueClaim(user: "c")) }
        let step = try queue.reserve(QueueClaim(user: "d", priority: .agentStep))
        #expect(queue.depth == 2)
        for ticket in [step, waiting, holding] { ticket.release() }
        #expect(queue.depth == 0 && queue.inFlight == 0)
    }
}

@Suite("Queue flags")
struct QueueOptionsTests {
    @Test func localModelDefaultsToItsSlotsAndRemoteVendorsAreUnlimited() throws {
        let local = ProviderSettings(kind: .openai, baseURL: Configuration.localModelURL, apiKey: nil, model: "m")
        let options = try QueueOptions.parse([])
        #expect(try options.settings(defaultProvider: local).maxConcurrency == [.openai: 1])
        let remote = ProviderSettings(kind: .anthropic, baseURL: "https://api.anthropic.com", apiKey: "k", model: "m")
        #expect(try options.settings(defaultProvider: remote).maxConcurrency.isEmpty)
        #expect(try QueueOptions.parse(["--local-model-slots", "3"]).settings(defaultProvider: local).maxConcurrency == [.openai: 3])
    }

    @Test func perVendorLimitsAndUnlimited() throws {
        let remote = ProviderSettings(kind: .anthropic, baseURL: "https://api.anthropic.com", apiKey: "k", model: "m")
        let parsed = try QueueOptions.parse(["--llm-max-concurrency", "openai=8,cohere=2", "--queue-max", "5", "--queue-timeout", "7"])
            .settings(defaultProvider: remote)
        #expect(parsed.maxConcurrency == [.openai: 8, .cohere: 2])
        #expect(parsed.maxWaiting == 5)
        #expect(parsed.timeout == .seconds(7))
        let bare = try QueueOptions.parse(["--llm-max-concurrency", "4"]).settings(defaultProvider: remote)
        #expect(bare.maxConcurrency == [.anthropic: 4], "a bare number limits the default provider")
        let local = ProviderSettings(kind: .openai, baseURL: Configuration.localModelURL, apiKey: nil, model: "m")
        #expect(try QueueOptions.parse(["--llm-max-concurrency", "0"]).settings(defaultProvider: local).maxConcurrency.isEmpty,
                "0 lifts the local model's default limit")
        #expect(throws: (any Error).self) { try QueueOptions.parse(["--llm-max-concurrency", "mistral=2"]).settings(defaultProvider: remote) }
        // A DNS name that merely starts with 127. is a remote server, not the one-slot local model.
        let lookalike = ProviderSettings(kind: .openai, baseURL: "http://127.evil.com:8088/v1", apiKey: nil, model: "m")
        #expect(try QueueOptions.parse([]).settings(defaultProvider: lookalike).maxConcurrency.isEmpty)
        let loopback = ProviderSettings(kind: .openai, baseURL: "http://[::1]:8088/v1", apiKey: nil, model: "m")
        #expect(try QueueOptions.parse([]).settings(defaultProvider: loopback).maxConcurrency == [.openai: 1])
        let embeddings = try QueueOptions.parse(["--llm-max-concurrency", "embeddings=2,openai=3"]).settings(defaultProvider: remote)
        #expect(embeddings.embeddingsMaxConcurrency == 2)
        #expect(embeddings.maxConcurrency == [.openai: 3])
        #expect(parsed.embeddingsMaxConcurrency == nil, "embeddings are unlimited unless limited")
    }
}

/// Question-time embeddings go through the embeddings provider's own limit.
@Suite("Embeddings queue")
struct EmbeddingsQueueTests {
    /// Counts how many `embed` calls overlap, holding each for a while like a real server.
    final class CountingEmbedder: Embedder {
        private let state = Mutex((open: 0, most: 0, calls: 0))
        let model = "counting"

        func embed(_ inputs: [String]) async throws -> [[Float]] {
            state.withLock { state in
                state.open += 1
                state.calls += 1
                state.most = max(state.most, state.open)
            }
            defer { state.withLock { $0.open -= 1 } }
            try await Task.sleep(for: .milliseconds(30))
            return inputs.map { _ in [1, 0] }
        }

        var most: Int { state.withLock { $0.most } }
        var calls: Int { state.withLock { $0.calls } }
    }

    @Test func aBurstOfQuestionsNeverExceedsTheEmbeddingsLimit() async throws {
        let counting = CountingEmbedder()
        let queue = QueueSettings(embeddingsMaxConcurrency: 2).makeEmbeddingsQueue(metrics: NOOPMetricsHandler.instance)
        let embedder = QueuedEmbedder(counting, queue: queue)
        try await withThrowingTaskGroup(of: [[Float]].self) { group in
            for index in 0..<20 { group.addTask { try await embedder.embed(["question \(index)"]) } }
            for try await vectors in group { #expect(vectors.count == 1) }
        }
        #expect(counting.calls == 20, "every question was embedded")
        #expect(counting.most == 2, "at most --llm-max-concurrency embeddings=2 at once, and both slots used")
        #expect(queue.depth == 0 && queue.inFlight == 0, "every slot was given back")
    }

    @Test func unlimitedByDefault() async throws {
        let counting = CountingEmbedder()
        let embedder = QueuedEmbedder(counting, queue: QueueSettings().makeEmbeddingsQueue(metrics: NOOPMetricsHandler.instance))
        try await withThrowingTaskGroup(of: [[Float]].self) { group in
            for index in 0..<8 { group.addTask { try await embedder.embed(["question \(index)"]) } }
            try await group.waitForAll()
        }
        #expect(counting.most > 2, "no limit unless one is set")
    }

    @Test func theServersRetrieverEmbedsThroughTheQueue() throws {
        var documents = DocumentSettings()
        documents.embeddings = EmbeddingsSettings(baseURL: "http://127.0.0.1:9/v1", model: "m")
        let queue = QueueSettings(embeddingsMaxConcurrency: 1).makeEmbeddingsQueue(metrics: NOOPMetricsHandler.instance)
        let retriever = documents.makeRetriever(storage: .sqlite(try AppDatabase.inMemory()), client: TestHarness.httpClient, queue: queue)
        let queued = try #require(retriever.embedder as? QueuedEmbedder)
        #expect(queued.queue === queue)
    }
}
