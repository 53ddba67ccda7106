import AgentHost
import AgentHostTesting
import AsyncHTTPClient
import ChatBridge
import Foundation
import Logging
import NIOCore
import WSClient

/// `agenthost-bench cluster`: the cost of PostgreSQL and of a second instance (PROTOCOL §9).
///
/// Three setups, each a separate `agenthost serve` process (or two) with the fake upstream as its
/// model: SQLite; PostgreSQL (a private cluster this benchmark starts) with one instance; two
/// instances on one PostgreSQL database. For each it measures:
/// - relayed tokens/s at C=`clients` over `/v1/chat/completions` against the zero-delay upstream
///   (requests alternate between the instances), beside the upstream streamed directly;
/// - added TTFT p50 (sequential, paired with a direct request);
/// - the agent client-tool round trip p50: a tool result posted over REST (to the other instance
///   when there are two) until the run's `tool_result` frame reaches the client's socket;
/// - resume latency p50: a `resume` of a running `ws/chat` generation on the other instance until
///   its first frame;
/// - `ws/chat` fan-out to `members` split over the instances: upstream write to member receipt.
struct ClusterBenchmark {
    var clients = 50
    var tokens = 200
    var requests = 400
    var samples = 40
    var members = 100

    private struct Setup {
        var name: String
        var databaseURL: String?
        var instances: Int
    }

    /// Messages the fake upstream answers differently.
    private enum Message {
        static let paced = "paced"
    }

    func run() async throws {
        let logger = {
            var logger = Logger(label: "bench")
            logger.logLevel = .critical
            return logger
        }()
        let cluster = try await PostgresTestCluster.start()
        defer { cluster.stop() }
        let tokenCount = tokens
        let upstream = FakeUpstream(fallback: { body in Self.script(for: body, tokens: tokenCount) }, retainBody: { _ in .null })
        try await FakeUpstream.run(upstream) { upstream in
            let upstreamURL = await upstream.baseURL + "/v1"
            print("cluster benchmark: \(clients) streams x \(tokens) tokens, \(samples) samples, fan-out to \(members) members; "
                  + "servers are child processes, clients and the fake upstream share this one")
            var rows: [(String, [String])] = []
            let setups = [Setup(name: "SQLite, 1 instance", databaseURL: nil, instances: 1),
                          Setup(name: "PostgreSQL, 1 instance", databaseURL: try await cluster.createDatabase(logger: logger), instances: 1),
                          Setup(name: "PostgreSQL, 2 instances", databaseURL: try await cluster.createDatabase(logger: logger), instances: 2)]
            for setup in setups {
                var servers: [BenchServer] = []
                defer { for server in servers { server.stop() } }
                for _ in 0..<setup.instances {
                    servers.append(try await BenchServer.start(
                        upstreamURL: upstreamURL,
                        arguments: (setup.databaseURL.map { ["--database-url", $0] } ?? [])
                            // A fake model on this machine would get the local-model slot limit; the bench measures the relay.
                            + ["--max-generations-per-user", "2000", "--llm-max-concurrency", "0", "--llm-tool-calling", "native"]))
                }
                try await servers[0].createWorkspace("bench")
                print("\n\(setup.name):")
                let throughput = try await measureThroughput(servers: servers, upstreamURL: upstreamURL)
                let ttft = try await measureTTFT(server: servers[0], upstreamURL: upstreamURL)
                let roundTrip = try await measureAgentRoundTrip(servers: servers, logger: logger)
                let resume = try await measureResume(servers: servers, logger: logger)
                let fanOut = try await measureFanOut(servers: servers, logger: logger)
                rows.append((setup.name, [throughput, ttft, roundTrip, resume, fanOut]))
            }
            print("\n| setup | tokens/s at C=\(clients) (vs direct) | added TTFT p50 | agent client-tool round trip p50 "
                  + "| resume on the other instance, p50 | fan-out to \(members) members, p50 / p99 |")
            print("|---|---|---|---|---|---|")
            for (name, values) in rows { print("| \(name) | \(values.joined(separator: " | ")) |") }
        }
    }

    // MARK: The fake model

    static func script(for body: JSONValue, tokens: Int) -> UpstreamScript {
        let messages = body["messages"]?.arrayValue ?? []
        if body["tools"] != nil {
            // An agent step: call the client tool first, then answer.
            if messages.contains(where: { $0["role"]?.stringValue == "tool" }) { return VendorStream.openAI(tokens: ["done"]) }
            return VendorStream.openAIToolCalls([(id: "call_1", name: "ping_client", arguments: "{}")])
        }
        let paced = messages.last?["content"]?.stringValue?.contains(Message.paced) ?? false
        var parts: [UpstreamScript.Part] = [VendorStream.openAIChunk(delta: ["role": "assistant", "content": ""])]
        for _ in 0..<(paced ? 300 : tokens) {
            // Each token is the monotonic time it was written: clients here compute latencies from it.
            parts.append(.generated {
                let chunk: JSONValue = ["choices": [["index": 0, "delta": ["content": .string("\(RoomBenchmark.nowNanos()) ")],
                                                     "finish_reason": .null]]]
                return "data: \(chunk.serializedString)\n\n"
            })
            if paced { parts.append(.pause(.milliseconds(5))) }
        }
        parts.append(VendorStream.openAIChunk(delta: [:], finishReason: "stop"))
        parts.append(.bytes("data: [DONE]\n\n"))
        return UpstreamScript(parts: parts)
    }

    // MARK: Relay

    /// Streams one answer; returns (nanoseconds to the first token, tokens).
    private static func stream(_ url: String, model: String) async throws -> (ttft: Int64, tokens: Int) {
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.headers.add(name: "content-type", value: "application/json")
        request.body = .bytes(ByteBuffer(string: #"{"model":"\#(model)","stream":true,"messages":[{"role":"user","content":"go"}]}"#))
        let start = RoomBenchmark.nowNanos()
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(60))
        guard response.status.code == 200 else { throw BenchFailure("\(url) answered \(response.status.code)") }
        var first: Int64 = 0
        var count = 0
        let marker = Array(#""content":""#.utf8)
        for try await buffer in response.body {
            let found = buffer.readableBytesView.occurrences(of: marker)
            if found > 0, first == 0 { first = RoomBenchmark.nowNanos() - start }
            count += found
        }
        return (first, count)
    }

    private func measureThroughput(servers: [BenchServer], upstreamURL: String) async throws -> String {
        func run(_ urls: [String], model: String) async throws -> Double {
            let perClient = requests / clients
            let start = ContinuousClock.now
            let total = try await withThrowingTaskGroup(of: Int.self) { group in
                for client in 0..<clients {
                    group.addTask {
                        var tokens = 0
                        for index in 0..<perClient {
                            tokens += try await Self.stream(urls[(client + index) % urls.count], model: model).tokens
                        }
                        return tokens
                    }
                }
                return try await group.reduce(0, +)
            }
            return Double(total) / (start.duration(to: .now).milliseconds / 1000)
        }
        let direct = try await run([upstreamURL + "/chat/completions"], model: "fake")
        let via = try await run(servers.map { "http://127.0.0.1:\($0.port)/v1/chat/completions" }, model: "bench")
        print("  relay: \(Int(via)) tokens/s via, \(Int(direct)) direct (\(String(format: "%.2f", via / direct))x)")
        return "\(Int(via)) (\(String(format: "%.2f", via / direct))x)"
    }

    private func measureTTFT(server: BenchServer, upstreamURL: String) async throws -> String {
        var added: [Int64] = []
        for _ in 0..<samples {
            let direct = try await Self.stream(upstreamURL + "/chat/completions", model: "fake").ttft
            let via = try await Self.stream("http://127.0.0.1:\(server.port)/v1/chat/completions", model: "bench").ttft
            added.append(via - direct)
        }
        let p50 = Stats.percentile(added, 0.5)
        print("  added TTFT: p50 \(RoomBenchmark.ms(p50)) ms")
        return "\(RoomBenchmark.ms(p50)) ms"
    }

    // MARK: Agent

    private func measureAgentRoundTrip(servers: [BenchServer], logger: Logger) async throws -> String {
        let answering = servers[servers.count - 1]
        let tool = #"{"name":"ping_client","description":"Answers at once.","parameters":{"type":"object","properties":{}}}"#
        let invoke = #"{"type":"agent_invoke","message":"bench","client_tools":[\#(tool)],"tools":[]}"#
        let latencies = SharedValue<[Int64]>([])
        let count = samples
        try await WebSocketClient.connect(url: "ws://127.0.0.1:\(servers[0].port)/ws/agent/bench/",
                                          configuration: .init(maxFrameSize: 1 << 24), logger: logger) { inbound, outbound, _ in
            var frames = inbound.messages(maxSize: 1 << 24).makeAsyncIterator()
            for _ in 0..<count {
                try await outbound.write(.text(invoke))
                var sent: Int64 = 0
                while let message = try await frames.next() {
                    guard case .text(let text) = message else { continue }
                    if text.contains(#""type":"tool_call""#), let invocation = Self.field("invocation_id", in: text) {
                        sent = RoomBenchmark.nowNanos()
                        try await answering.request("POST", "/api/agent/invocations/\(invocation)/tool_results",
                                                    body: #"{"call_id":"call_1","output":"pong"}"#)
                    } else if text.contains(#""type":"tool_result""#) {
                        let now = RoomBenchmark.nowNanos()
                        latencies.withLock { $0.append(now - sent) }
                    } else if text.contains(#""type":"agent_complete""#) {
                        break
                    }
                }
            }
            try await outbound.close(.normalClosure, reason: nil)
        }
        let p50 = Stats.percentile(latencies.withLock { $0 }, 0.5)
        print("  agent client-tool round trip (REST answer\(servers.count > 1 ? " on the other instance" : "") to tool_result frame): "
              + "p50 \(RoomBenchmark.ms(p50)) ms")
        return "\(RoomBenchmark.ms(p50)) ms"
    }

    static func field(_ name: String, in text: String) -> String? {
        guard let range = text.range(of: "\"\(name)\":\"") else { return nil }
        return String(text[range.upperBound...].prefix { $0 != "\"" })
    }

    // MARK: Rooms

    private func measureResume(servers: [BenchServer], logger: Logger) async throws -> String {
        let other = servers[servers.count - 1]
        let latencies = SharedValue<[Int64]>([])
        let rounds = min(samples, 10)
        for _ in 0..<rounds {
            try await WebSocketClient.connect(url: "ws://127.0.0.1:\(servers[0].port)/ws/chat/bench/",
                                              configuration: .init(maxFrameSize: 1 << 24), logger: logger) { inbound, outbound, _ in
                var frames = inbound.messages(maxSize: 1 << 24).makeAsyncIterator()
                _ = try await frames.next()
                try await outbound.write(.text(#"{"type":"chat","message":"\#(Message.paced)"}"#))
                var chatId: String?
                while chatId == nil, let message = try await frames.next() {
                    if case .text(let text) = message, text.contains(#""type":"chat_token""#) { chatId = Self.field("chat_id", in: text) }
                }
                guard let chatId else { throw BenchFailure("no generation started") }
                try await WebSocketClient.connect(url: "ws://127.0.0.1:\(other.port)/ws/chat/bench/",
                                                  configuration: .init(maxFrameSize: 1 << 24), logger: logger) { inbound, resuming, _ in
                    var replay = inbound.messages(maxSize: 1 << 24).makeAsyncIterator()
                    _ = try await replay.next()
                    let sent = RoomBenchmark.nowNanos()
                    try await resuming.write(.text(#"{"type":"resume","chat_id":"\#(chatId)","after_seq":-1}"#))
                    while let message = try await replay.next() {
                        guard case .text(let text) = message, text.contains(#""seq":"#) else { continue }
                        let now = RoomBenchmark.nowNanos()
                        latencies.withLock { $0.append(now - sent) }
                        break
                    }
                    try await resuming.close(.normalClosure, reason: nil)
                }
                // Let the generation finish before the next round.
                while let message = try await frames.next() {
                    if case .text(let text) = message, text.contains(#""type":"chat_complete""#) { break }
                }
                try await outbound.close(.normalClosure, reason: nil)
            }
        }
        let p50 = Stats.percentile(latencies.withLock { $0 }, 0.5)
        print("  resume of a running generation\(servers.count > 1 ? " on the other instance" : ""): first frame after "
              + "p50 \(RoomBenchmark.ms(p50)) ms")
        return "\(RoomBenchmark.ms(p50)) ms"
    }

    private func measureFanOut(servers: [BenchServer], logger: Logger) async throws -> String {
        let count = members
        let latencies = SharedValue<[[Int64]]>(Array(repeating: [], count: servers.count))
        let joined = SharedValue(0)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for member in 0..<count {
                let server = servers[member % servers.count]
                group.addTask {
                    try await WebSocketClient.connect(url: "ws://127.0.0.1:\(server.port)/ws/chat/bench/",
                                                      configuration: .init(maxFrameSize: 1 << 24), logger: logger) { inbound, outbound, _ in
                        var frames = inbound.messages(maxSize: 1 << 24).makeAsyncIterator()
                        _ = try await frames.next()
                        joined.withLock { $0 += 1 }
                        if member == 0 {
                            while joined.withLock({ $0 }) < count { try await Task.sleep(for: .milliseconds(10)) }
                            try await outbound.write(.text(#"{"type":"chat","message":"\#(Message.paced) fan-out"}"#))
                        }
                        var mine: [Int64] = []
                        while let message = try await frames.next() {
                            guard case .text(let text) = message else { continue }
                            let now = RoomBenchmark.nowNanos()
                            if text.contains(#""type":"chat_complete""#) { break }
                            if let range = text.range(of: #""token":""#), let sent = Int64(text[range.upperBound...].prefix { $0.isNumber }) {
                                mine.append(now - sent)
                            }
                        }
                        latencies.withLock { $0[member % servers.count] += mine }
                        try await outbound.close(.normalClosure, reason: nil)
                    }
                }
            }
            try await group.waitForAll()
        }
        let byInstance = latencies.withLock { $0 }
        let all = byInstance.flatMap { $0 }
        for (index, values) in byInstance.enumerated() {
            print("  fan-out, members on instance \(index + 1): upstream write -> member p50 \(RoomBenchmark.ms(Stats.percentile(values, 0.5))) ms, "
                  + "p99 \(RoomBenchmark.ms(Stats.percentile(values, 0.99))) ms (\(values.count) receipts)")
        }
        return "\(RoomBenchmark.ms(Stats.percentile(all, 0.5))) / \(RoomBenchmark.ms(Stats.percentile(all, 0.99))) ms"
    }
}

struct BenchFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

extension ByteBufferView {
    /// How often `pattern` occurs (not overlapping).
    func occurrences(of pattern: [UInt8]) -> Int {
        guard !pattern.isEmpty, count >= pattern.count else { return 0 }
        var found = 0
        var index = startIndex
        let last = endIndex - pattern.count
        while index <= last {
            if self[index] == pattern[0], self[index..<(index + pattern.count)].elementsEqual(pattern) {
                found += 1
                index += pattern.count
            } else {
                index += 1
            }
        }
        return found
    }
}
