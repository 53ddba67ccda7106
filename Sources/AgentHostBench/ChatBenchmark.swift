import AgentHost
import AgentHostTesting
import AsyncHTTPClient
import ChatBridge
import Foundation
import NIOCore
import Synchronization

/// `agenthost bench chat`: what AgentHost's SSE chat path adds on top of a zero-delay model server.
///
/// (a) time to first token, sequential, direct against the fake upstream vs through
/// `POST /api/chats/stream_chat/`; (b) tokens per second delivered to C concurrent clients, direct
/// vs through AgentHost; (c) the process's resident memory. Prints numbers; asserts nothing.
struct ChatBenchmark: Sendable {
    struct Options: Sendable {
        /// Tokens in every scripted answer.
        var tokens = 200
        /// Sequential measured requests per path in (a); also the streams per level in (b) (at least one per client).
        var requests = 200
        /// Unmeasured request pairs before (a).
        var warmup = 20
        /// Concurrent client counts of (b).
        var clients = [1, 100, 1000]
        /// Earlier chats sent to the model with every message; the workspace default when `nil`.
        var historyLength: Int?
        var toolSchemas: String?
    }

    let options: Options

    /// Added TTFT p50 must stay under this (milliseconds).
    static let targetAddedTTFT = 2.0
    /// Total tokens per second through AgentHost must exceed this.
    static let targetTokensPerSecond = 50_000.0
    /// In (a) the upstream pauses this long after the first token, so processing the rest of a zero-delay
    /// burst does not compete with delivering the first token (real models leave milliseconds between tokens).
    static let firstTokenPause: Duration = .milliseconds(10)

    /// What one streamed answer delivered.
    struct StreamResult: Sendable {
        var timeToFirstToken: Duration?
        /// Milliseconds of process CPU time (all threads) from sending to the first token.
        var cpuToFirstToken: Double?
        var duration: Duration
        var tokens: Int
    }

    /// What the upstream answers: (a) pauses after the first token, warm-up rounds are one token long.
    enum Phase: Sendable {
        case firstToken, warmup, throughput
    }

    /// Which end a request goes to.
    enum Path: String, Sendable {
        case direct = "direct upstream"
        case agentHost = "via AgentHost SSE"
    }

    func run() async throws {
        let tokens = (0..<options.tokens).map { "tok\($0) " }
        let script = VendorStream.openAI(tokens: tokens, usage: Usage(promptTokens: 12, completionTokens: tokens.count))
        var firstTokenScript = script
        firstTokenScript.parts.insert(.pause(Self.firstTokenPause), at: min(2, firstTokenScript.parts.count))
        let warmupScript = VendorStream.openAI(tokens: ["tok "], usage: Usage(promptTokens: 12, completionTokens: 1))
        let phase = LockedBox(Phase.firstToken)
        // Answers depend on the phase, not the request: the upstream neither parses bodies (AgentHost sends the
        // history, the direct client does not; parsing it would be charged to AgentHost) nor keeps them
        // (thousands would show up in the RSS numbers).
        let upstream = FakeUpstream(
            fallback: { [firstTokenScript] _ in
                switch phase.value {
                case .firstToken: firstTokenScript
                case .warmup: warmupScript
                case .throughput: script
                }
            },
            retainBody: { _ in .null }, parseBody: { _ in .null })
        let rssAtStart = ProcessMemory.resident
        let historyLength = options.historyLength ?? Workspace.defaultHistoryLength
        print("AgentHost chat benchmark: \(options.tokens) tokens per answer, \(options.requests) sequential requests per path, "
              + "clients \(options.clients.map(String.init).joined(separator: ","))")
        print(BenchFormat.environmentNote())
        print("Upstream: in-process fake OpenAI server, zero delay. AgentHost: single-user mode, SQLite (WAL) in a temp dir, "
              + "workspace history_length \(historyLength) (earlier chats of the thread sent with every message).\n")

        let maxClients = options.clients.max() ?? 1
        try await BenchEnvironment.run(toolSchemas: options.toolSchemas, upstream: upstream,
                                       // Single-user mode: every client is the same user; the fair-use cap must not refuse them.
                                       configure: { $0.fairUse.maxGenerationsPerUser = maxClients + 16 },
                                       workspace: { $0.historyLength = historyLength }) { environment in
            let client = HTTPClient.benchClient(connections: maxClients * 2)
            do {
                let rssAfterSetup = ProcessMemory.resident
                try await measureTimeToFirstToken(environment, client: client)
                let rssAfterTTFT = ProcessMemory.resident
                let peakReset = ProcessMemory.resetPeak()
                try await measureThroughput(environment, client: client, phase: phase)
                let rssAtEnd = ProcessMemory.resident
                var memory = BenchTable("(c) Resident memory of the whole process (clients + AgentHost + upstream)",
                                        header: ["point", "VmRSS", "growth since setup"])
                memory.add(["start (before setup)", ProcessMemory.format(rssAtStart), ""])
                memory.add(["after setup", ProcessMemory.format(rssAfterSetup), ProcessMemory.formatDelta(from: rssAfterSetup, to: rssAfterSetup)])
                memory.add(["after (a) TTFT", ProcessMemory.format(rssAfterTTFT), ProcessMemory.formatDelta(from: rssAfterSetup, to: rssAfterTTFT)])
                memory.add(["after (b) throughput", ProcessMemory.format(rssAtEnd), ProcessMemory.formatDelta(from: rssAfterSetup, to: rssAtEnd)])
                memory.add([peakReset ? "peak during (b) (VmHWM)" : "peak of the process (VmHWM)", ProcessMemory.format(ProcessMemory.peak),
                            ProcessMemory.formatDelta(from: rssAfterSetup, to: ProcessMemory.peak)])
                memory.print()
                try await client.shutdown()
            } catch {
                try? await client.shutdown()
                throw error
            }
        }
    }

    // MARK: (a) Time to first token

    private func measureTimeToFirstToken(_ environment: BenchEnvironment, client: HTTPClient) async throws {
        var direct = Samples()
        var viaAgentHost = Samples()
        var paired = Samples()
        var cpuDirect = Samples()
        var cpuViaAgentHost = Samples()
        var failures = 0
        for index in 0..<(options.warmup + options.requests) {
            // Alternate which path goes first so neither always runs on a warmer cache.
            let order: [Path] = index.isMultiple(of: 2) ? [.direct, .agentHost] : [.agentHost, .direct]
            var pair: [Path: Double] = [:]
            var cpu: [Path: Double] = [:]
            for path in order {
                do {
                    let result = try await stream(path, environment: environment, client: client, label: "ttft-\(index)")
                    if let ttft = result.timeToFirstToken, result.tokens == options.tokens {
                        pair[path] = ttft.milliseconds
                        cpu[path] = result.cpuToFirstToken
                    }
                } catch {
                    failures += 1
                    if failures <= 3 { print("  request failed (\(path.rawValue)): \(error)") }
                }
            }
            guard index >= options.warmup, let first = pair[.direct], let second = pair[.agentHost] else { continue }
            direct.append(first)
            viaAgentHost.append(second)
            paired.append(second - first)
            if let first = cpu[.direct], let second = cpu[.agentHost] {
                cpuDirect.append(first)
                cpuViaAgentHost.append(second)
            }
        }
        var table = BenchTable(
            "(a) Time to first content token, \(direct.count) sequential request pairs (after \(options.warmup) warm-up pairs), ms",
            header: ["path", "p50", "p99", "mean", "min", "max"])
        for (name, samples) in [(Path.direct.rawValue, direct), (Path.agentHost.rawValue, viaAgentHost)] {
            table.add([name, BenchFormat.ms(samples.p50), BenchFormat.ms(samples.p99), BenchFormat.ms(samples.mean),
                       BenchFormat.ms(samples.min), BenchFormat.ms(samples.max)])
        }
        table.add(["added (p50/p99 of via - p50/p99 of direct)", BenchFormat.ms(viaAgentHost.p50 - direct.p50),
                   BenchFormat.ms(viaAgentHost.p99 - direct.p99), BenchFormat.ms(viaAgentHost.mean - direct.mean), "", ""])
        table.add(["added (paired per request: via - direct)", BenchFormat.ms(paired.p50), BenchFormat.ms(paired.p99),
                   BenchFormat.ms(paired.mean), BenchFormat.ms(paired.min), BenchFormat.ms(paired.max)])
        table.add(["process CPU time to first token, direct", BenchFormat.ms(cpuDirect.p50), BenchFormat.ms(cpuDirect.p99),
                   BenchFormat.ms(cpuDirect.mean), BenchFormat.ms(cpuDirect.min), BenchFormat.ms(cpuDirect.max)])
        table.add(["process CPU time to first token, via AgentHost", BenchFormat.ms(cpuViaAgentHost.p50), BenchFormat.ms(cpuViaAgentHost.p99),
                   BenchFormat.ms(cpuViaAgentHost.mean), BenchFormat.ms(cpuViaAgentHost.min), BenchFormat.ms(cpuViaAgentHost.max)])
        table.print()
        print("The upstream pauses \(Int(Self.firstTokenPause.milliseconds)) ms after the first token in (a), so the rest of the answer does not "
              + "compete with its delivery.")
        print("CPU time to first token: CPU time of all the process's threads from sending to the first token, i.e. the "
              + "work done, whatever the scheduling; mostly sequential here, so the CPU AgentHost adds bounds its added TTFT from below.")
        let added = paired.p50
        print("Target: added TTFT p50 < \(BenchFormat.ms(Self.targetAddedTTFT)) ms -> paired p50 \(BenchFormat.ms(added)) ms: "
              + "\(BenchFormat.verdict(added < Self.targetAddedTTFT))"
              + (failures > 0 ? "  (\(failures) failed requests)" : "") + "\n")
    }

    // MARK: (b) Throughput

    private func measureThroughput(_ environment: BenchEnvironment, client: HTTPClient, phase: LockedBox<Phase>) async throws {
        var table = BenchTable(
            "(b) Throughput: C concurrent streams of \(options.tokens) tokens; tokens/s = all tokens received by all clients / wall time",
            header: ["clients", "streams", "direct s", "direct tok/s", "via s", "via tok/s", "via/direct",
                     "via stream p50 ms", "via stream p99 ms", "cores busy direct/via", "CPU us/token direct/via",
                     "errors", "warm-up s direct/via", "listen overflows"])
        var bestVia = 0.0
        for clients in options.clients where clients > 0 {
            let rounds = max(1, options.requests / clients)
            // One unmeasured stream per client first, so the measured rounds find every connection
            // (client -> upstream, client -> AgentHost, AgentHost -> upstream) open in the pools.
            let overflowsBefore = KernelCounters.listenOverflows
            phase.withLock { $0 = .warmup }
            let directWarmup = try await concurrentStreams(.direct, clients: clients, rounds: 1, tokens: 1,
                                                           environment: environment, client: client)
            let viaWarmup = try await concurrentStreams(.agentHost, clients: clients, rounds: 1, tokens: 1,
                                                        environment: environment, client: client)
            phase.withLock { $0 = .throughput }
            let overflowsAfterWarmup = KernelCounters.listenOverflows
            let direct = try await concurrentStreams(.direct, clients: clients, rounds: rounds, tokens: options.tokens,
                                                     environment: environment, client: client)
            let via = try await concurrentStreams(.agentHost, clients: clients, rounds: rounds, tokens: options.tokens,
                                                  environment: environment, client: client)
            let overflowsAfter = KernelCounters.listenOverflows
            var overflows = "n/a"
            if let overflowsBefore, let overflowsAfterWarmup, let overflowsAfter {
                overflows = "\(overflowsAfterWarmup - overflowsBefore)/\(overflowsAfter - overflowsAfterWarmup)"
            }
            let directRate = Double(direct.tokens) / direct.wall.seconds
            let viaRate = Double(via.tokens) / via.wall.seconds
            bestVia = max(bestVia, viaRate)
            table.add([String(clients), String(clients * rounds), String(format: "%.3f", direct.wall.seconds),
                       BenchFormat.number(directRate), String(format: "%.3f", via.wall.seconds), BenchFormat.number(viaRate),
                       String(format: "%.2f", viaRate / directRate), BenchFormat.ms(via.streamDurations.p50),
                       BenchFormat.ms(via.streamDurations.p99),
                       String(format: "%.2f/%.2f", direct.cpu / direct.wall.seconds, via.cpu / via.wall.seconds),
                       String(format: "%.1f/%.1f", direct.cpu * 1e6 / Double(max(direct.tokens, 1)), via.cpu * 1e6 / Double(max(via.tokens, 1))),
                       "\(direct.errors)/\(via.errors)",
                       String(format: "%.2f/%.2f", directWarmup.wall.seconds, viaWarmup.wall.seconds), overflows])
        }
        table.print()
        print("Target: > \(BenchFormat.number(Self.targetTokensPerSecond)) tokens/s total via AgentHost -> best \(BenchFormat.number(bestVia)): "
              + "\(BenchFormat.verdict(bestVia > Self.targetTokensPerSecond))")
        print("Cores busy: process CPU time / wall time (all threads: clients, AgentHost, upstream). CPU us/token: process CPU "
              + "time per delivered token; via minus direct is roughly AgentHost's own cost per token.")
        print("Errors: failed or short streams, direct/via. Warm-up: the unmeasured first round (one 1-token stream per client, "
              + "opening the connections). Listen overflows: connections the kernel dropped (system-wide) because an accept "
              + "queue was full, during warm-up/measured rounds; each costs its client a >= 1 s SYN retransmit.\n")
    }

    /// What one level of concurrent streams delivered.
    struct LevelResult: Sendable {
        var wall: Duration
        /// CPU seconds the whole process used meanwhile (clients, AgentHost and upstream).
        var cpu: Double
        var tokens: Int
        var errors: Int
        var streamDurations: Samples
    }

    /// `clients` concurrent clients, each streaming `rounds` answers of `tokens` tokens one after another.
    private func concurrentStreams(_ path: Path, clients: Int, rounds: Int, tokens expected: Int, environment: BenchEnvironment,
                                   client: HTTPClient) async throws -> LevelResult {
        let started = ContinuousClock.now
        let cpuBefore = ProcessCPU.seconds
        let perClient = await withTaskGroup(of: (tokens: Int, errors: Int, durations: [Double]).self) { group in
            for clientIndex in 0..<clients {
                group.addTask {
                    var tokens = 0
                    var errors = 0
                    var durations: [Double] = []
                    for round in 0..<rounds {
                        do {
                            let result = try await stream(path, environment: environment, client: client,
                                                          label: "load-\(clients)-\(clientIndex)-\(round)")
                            tokens += result.tokens
                            durations.append(result.duration.milliseconds)
                            if result.tokens != expected { errors += 1 }
                        } catch {
                            errors += 1
                        }
                    }
                    return (tokens, errors, durations)
                }
            }
            var all: [(tokens: Int, errors: Int, durations: [Double])] = []
            for await result in group { all.append(result) }
            return all
        }
        let wall = started.duration(to: .now)
        return LevelResult(wall: wall, cpu: ProcessCPU.seconds - cpuBefore, tokens: perClient.reduce(0) { $0 + $1.tokens }, errors: perClient.reduce(0) { $0 + $1.errors },
                           streamDurations: Samples(perClient.flatMap(\.durations)))
    }

    // MARK: One stream

    /// Sends one streaming chat request and counts the content tokens as they arrive (without parsing JSON).
    private func stream(_ path: Path, environment: BenchEnvironment, client: HTTPClient, label: String) async throws -> StreamResult {
        var request: HTTPClientRequest
        var counter: PatternCounter
        switch path {
        case .direct:
            request = HTTPClientRequest(url: environment.upstreamURL + "/v1/chat/completions")
            let body: JSONValue = ["model": "fake-model", "stream": true, "stream_options": ["include_usage": true],
                                   "messages": [["role": "user", "content": .string("bench \(label)")]]]
            request.body = .bytes(ByteBuffer(bytes: body.serialized()))
            // Chunks serialize with sorted keys: `{"content":"tok…"}` is a content token, the role chunk has `""`.
            counter = PatternCounter(#""content":"tok"#)
        case .agentHost:
            request = HTTPClientRequest(url: environment.serverURL + "/api/chats/stream_chat/")
            let body: JSONValue = ["message": .string("bench \(label)"), "workspace": .string(environment.workspace.slug)]
            request.body = .bytes(ByteBuffer(bytes: body.serialized()))
            counter = PatternCounter("event: chat_token\n")
        }
        request.method = .POST
        request.headers.add(name: "content-type", value: "application/json")
        request.headers.add(name: "accept", value: "text/event-stream")

        let cpuStart = ProcessCPU.seconds
        let started = ContinuousClock.now
        let response = try await client.execute(request, timeout: .seconds(120))
        guard response.status == .ok else {
            let text = try await response.body.collect(upTo: 1 << 16)
            throw BenchError("\(path.rawValue) answered \(response.status.code): \(String(buffer: text).prefix(300))")
        }
        var firstToken: Duration?
        var cpuToFirstToken: Double?
        for try await buffer in response.body {
            if counter.consume(buffer) > 0, firstToken == nil {
                firstToken = started.duration(to: .now)
                cpuToFirstToken = (ProcessCPU.seconds - cpuStart) * 1000
            }
        }
        return StreamResult(timeToFirstToken: firstToken, cpuToFirstToken: cpuToFirstToken, duration: started.duration(to: .now),
                            tokens: counter.count)
    }
}

/// A benchmark that could not run as set up.
struct BenchError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
