import AgentHost
import AgentHostTesting
import AsyncHTTPClient
import ChatBridge
import Foundation
import NIOCore

/// `agenthost-bench queue`: the provider queue under a burst, and what it costs when empty.
///
/// (a) `chats` concurrent SSE chats against a fake upstream that AgentHost may call at most `limit`
/// at a time: the most upstream requests ever open at once (from the upstream's own log), how many
/// chats completed, and their queue wait (`queue_ms`) p50/p99. (b) time to first token of sequential
/// chats through a server with the limit (queue empty: the fast path) vs one without any limit,
/// request pairs alternating. Prints numbers; asserts nothing.
struct QueueBenchmark: Sendable {
    var chats = 200
    var limit = 4
    var tokens = 20
    var tokenInterval: Duration = .milliseconds(5)
    var requests = 200
    var warmup = 20
    var toolSchemas: String?

    /// What one chat saw.
    struct ChatResult: Sendable {
        var completed = false
        var queued = false
        var refused = false
        var queueMilliseconds: Double?
        var timeToFirstToken: Duration?
    }

    func run() async throws {
        print("AgentHost queue benchmark: \(chats) concurrent chats, --llm-max-concurrency \(limit), \(tokens) tokens per answer "
              + "\(Int(tokenInterval.milliseconds)) ms apart; \(requests) sequential pairs for the empty-queue overhead")
        print(BenchFormat.environmentNote() + "\n")
        try await burst()
        try await emptyQueueOverhead()
    }

    // MARK: (a) Burst

    private func burst() async throws {
        let script = VendorStream.openAI(tokens: (0..<tokens).map { "t\($0) " }).paced(tokenInterval)
        let upstream = FakeUpstream(fallback: { _ in script }, retainBody: { _ in .null }, parseBody: { _ in .null })
        let limit = self.limit
        let chats = self.chats
        try await BenchEnvironment.run(toolSchemas: toolSchemas, upstream: upstream, configure: {
            $0.queue = QueueSettings(maxConcurrency: [.openai: limit], maxWaiting: max(256, chats), timeout: .seconds(300))
        }) { environment in
            let client = HTTPClient.benchClient(connections: chats * 2)
            do {
                let start = ContinuousClock.now
                let results = try await withThrowingTaskGroup(of: ChatResult.self) { group in
                    for index in 0..<chats {
                        group.addTask { try await Self.chat(environment, client: client, message: "burst \(index)") }
                    }
                    return try await group.reduce(into: [ChatResult]()) { $0.append($1) }
                }
                let wall = start.duration(to: .now)
                let exchanges = await upstream.waitForEndedExchanges(results.filter(\.completed).count, timeout: .seconds(10))
                var waits = Samples()
                for result in results { if let wait = result.queueMilliseconds { waits.append(wait) } }
                var table = BenchTable("(a) \(chats) concurrent chats, upstream limit \(limit)", header: ["measure", "value"])
                table.add(["most upstream requests open at once", "\(FakeUpstream.maxOverlap(exchanges)) (limit \(limit))"])
                table.add(["chats completed / admitted", "\(results.filter(\.completed).count) / \(results.filter { !$0.refused }.count)"])
                table.add(["chats that waited (got chat_queued)", "\(results.filter(\.queued).count)"])
                table.add(["queue wait p50 / p99 / max, ms", "\(BenchFormat.ms(waits.p50)) / \(BenchFormat.ms(waits.p99)) / \(BenchFormat.ms(waits.max))"])
                table.add(["wall time, s", BenchFormat.number(wall.seconds, decimals: 2)])
                table.add(["upstream requests", "\(exchanges.count)"])
                table.print()
                print("")
                try await client.shutdown()
            } catch {
                try? await client.shutdown()
                throw error
            }
        }
    }

    // MARK: (b) Empty-queue overhead

    private func emptyQueueOverhead() async throws {
        let script = VendorStream.openAI(tokens: (0..<tokens).map { "t\($0) " })
        let limit = self.limit
        let makeUpstream: @Sendable () -> FakeUpstream = { FakeUpstream(fallback: { _ in script }, retainBody: { _ in .null }, parseBody: { _ in .null }) }
        let (withQueue, without) = try await BenchEnvironment.run(toolSchemas: toolSchemas, upstream: makeUpstream(), configure: {
            $0.queue = QueueSettings(maxConcurrency: [.openai: limit])
        }) { limited in
            try await BenchEnvironment.run(toolSchemas: toolSchemas, upstream: makeUpstream()) { unlimited in
                let client = HTTPClient.benchClient(connections: 4)
                var withQueue = Samples()
                var without = Samples()
                do {
                    for index in 0..<(warmup + requests) {
                        let order = index.isMultiple(of: 2) ? [limited, unlimited] : [unlimited, limited]
                        var pair: [Int: Double] = [:]
                        for environment in order {
                            let result = try await Self.chat(environment, client: client, message: "ttft \(index)")
                            if let ttft = result.timeToFirstToken { pair[environment.port] = ttft.milliseconds }
                        }
                        guard index >= warmup, let a = pair[limited.port], let b = pair[unlimited.port] else { continue }
                        withQueue.append(a)
                        without.append(b)
                    }
                    try await client.shutdown()
                } catch {
                    try? await client.shutdown()
                    throw error
                }
                return (withQueue, without)
            }
        }
        var table = BenchTable("(b) Time to first token, \(withQueue.count) sequential pairs, queue empty, ms",
                               header: ["server", "p50", "p99", "mean"])
        table.add(["limit \(limit) (queue path)", BenchFormat.ms(withQueue.p50), BenchFormat.ms(withQueue.p99), BenchFormat.ms(withQueue.mean)])
        table.add(["no limit", BenchFormat.ms(without.p50), BenchFormat.ms(without.p99), BenchFormat.ms(without.mean)])
        table.add(["added by the queue", BenchFormat.ms(withQueue.p50 - without.p50), BenchFormat.ms(withQueue.p99 - without.p99),
                   BenchFormat.ms(withQueue.mean - without.mean)])
        table.print()
        print("Every chat takes a ticket in both servers (the unlimited queue grants at once); the limited one also counts its slot.")
    }

    // MARK: Support

    /// One SSE chat: whether it completed, waited, its `queue_ms` and time to the first token.
    static func chat(_ environment: BenchEnvironment, client: HTTPClient, message: String) async throws -> ChatResult {
        var request = HTTPClientRequest(url: environment.serverURL + "/api/chats/stream_chat/")
        request.method = .POST
        request.headers.add(name: "content-type", value: "application/json")
        let body: JSONValue = ["message": .string(message), "workspace": .string(environment.workspace.slug)]
        request.body = .bytes(ByteBuffer(bytes: body.serialized()))
        let sent = ContinuousClock.now
        let response = try await client.execute(request, timeout: .seconds(600))
        var result = ChatResult()
        guard response.status == .ok else {
            result.refused = true
            _ = try? await response.body.collect(upTo: 1 << 20)
            return result
        }
        var parser = SSEParser()
        for try await buffer in response.body {
            for event in parser.parse(buffer.readableBytesView) {
                switch event.event {
                case "chat_queued": result.queued = true
                case "chat_token": if result.timeToFirstToken == nil { result.timeToFirstToken = sent.duration(to: .now) }
                case "chat_complete":
                    result.completed = true
                    result.queueMilliseconds = (try? JSONValue(parsing: event.data))?["metrics"]?["queue_ms"]?.doubleValue
                default: break
                }
            }
        }
        return result
    }
}
