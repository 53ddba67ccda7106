import AgentHost
import AgentHostTesting
import AsyncHTTPClient
import ChatBridge
import Foundation
import NIOCore
import Synchronization

/// `agenthost-bench chat`: what AgentHost's streaming chat path adds on top of a zero-delay model server.
///
/// (a) time to first token, sequential, direct against the fake upstream vs through
/// `POST /api/chats/stream_chat/` or `POST /v1/chat/completions` (``Endpoint``); (b) tokens per second
/// delivered to C concurrent clients, direct vs through AgentHost; (c) resident memory. AgentHost runs
/// in this process or as a child `agenthost serve` process (``Placement``), which can be pinned to its
/// own core and whose CPU time is read from `/proc`. Prints numbers; asserts nothing.
struct ChatBenchmark: Sendable {
    /// The AgentHost endpoint the "via" path streams from.
    enum Endpoint: String, Sendable, CaseIterable {
        /// `POST /api/chats/stream_chat/`, AgentHost's own SSE frames.
        case streamChat = "stream_chat"
        /// `POST /v1/chat/completions` with `stream: true`, OpenAI's chunks.
        case v1

        var path: String {
            switch self {
            case .streamChat: "/api/chats/stream_chat/"
            case .v1: "/v1/chat/completions"
            }
        }
    }

    /// Where AgentHost runs.
    enum Placement: Sendable {
        /// In this process, sharing its cores and event loops with the clients and the upstream.
        case inProcess
        /// A child `agenthost serve` process, pinned with `taskset -c cpus` when given. `executable` is the
        /// `agenthost` binary to run; by default the `agenthost` next to this executable (which may be it).
        case childProcess(cpus: String?, executable: String?)
    }

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
        var endpoint = Endpoint.streamChat
        var placement = Placement.inProcess
    }

    let options: Options

    /// Added TTFT p50 must stay at or under this (milliseconds; issue 17).
    static let targetAddedTTFT = 1.0
    /// Tokens per second through AgentHost must be at least this share of direct, at every client count.
    static let targetShareOfDirect = 0.5
    /// AgentHost's CPU per request must stay at or under this (milliseconds), at every client count.
    static let targetCPUPerRequest = 2.0
    /// Slices each throughput level's rounds are cut into, direct and via taking turns.
    static let throughputSlices = 4
    /// In (a) the upstream pauses this long after the first token, so processing the rest of a zero-delay
    /// burst does not compete with delivering the first token (real models leave milliseconds between tokens).
    static let firstTokenPause: Duration = .milliseconds(10)

    /// What one streamed answer delivered.
    struct StreamResult: Sendable {
        var timeToFirstToken: Duration?
        /// Milliseconds of process CPU time (all threads) from sending to the first token.
        var cpuToFirstToken: Double?
        /// Milliseconds of process CPU time (all threads) from sending to the last byte.
        var cpu: Double
        var duration: Duration
        var tokens: Int
    }

    /// What the upstream answers: (a) pauses after the first token, warm-up rounds are one token long.
    enum Phase: Sendable {
        case firstToken, warmup, throughput
    }

    /// Which end a request goes to.
    enum Path: Sendable {
        case direct, agentHost
    }

    /// How a path is named in the output.
    func name(_ path: Path) -> String {
        switch path {
        case .direct: "direct upstream"
        case .agentHost: "via AgentHost \(options.endpoint.path)"
        }
    }

    /// The ends the clients stream from, and AgentHost's own process when it has one.
    struct Target: Sendable {
        var upstreamURL: String
        var serverURL: String
        var workspaceSlug: String
        /// The child `agenthost serve` process; `nil` when AgentHost runs in this process.
        var serverPID: Int32?

        /// CPU seconds (user + system, all threads) AgentHost's own process has used, from `/proc/PID/stat`.
        var serverCPU: Double? { serverPID.flatMap(ChildServer.cpuSeconds) }
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
              + "clients \(options.clients.map(String.init).joined(separator: ",")), via \(options.endpoint.path)")
        print(BenchFormat.environmentNote())
        let history = options.endpoint == .v1
            ? "/v1 sends only the client's messages (one user message here), no stored history"
            : "workspace history_length \(historyLength) (earlier chats of the thread sent with every message)"
        switch options.placement {
        case .inProcess:
            print("Upstream: in-process fake OpenAI server, zero delay. AgentHost: in this process, single-user mode, SQLite (WAL) "
                  + "in a temp dir; \(history).\n")
        case .childProcess(let cpus, _):
            print("Upstream: in-process fake OpenAI server, zero delay. AgentHost: a child `agenthost serve` process"
                  + (cpus.map { " pinned to CPU(s) \($0) (taskset)" } ?? "") + ", single-user mode, SQLite (WAL) in a temp dir; "
                  + "\(history). Its CPU time is read from /proc/PID/stat; this process's CPU columns are clients + upstream only.\n")
        }

        let maxClients = options.clients.max() ?? 1
        switch options.placement {
        case .inProcess:
            try await BenchEnvironment.run(toolSchemas: options.toolSchemas, upstream: upstream,
                                           // Single-user mode: every client is the same user; the fair-use cap must not refuse them.
                                           configure: { $0.fairUse.maxGenerationsPerUser = maxClients + 16 },
                                           workspace: { $0.historyLength = historyLength }) { environment in
                try await measure(Target(upstreamURL: environment.upstreamURL, serverURL: environment.serverURL,
                                         workspaceSlug: environment.workspace.slug),
                                  phase: phase, rssAtStart: rssAtStart)
            }
        case .childProcess(let cpus, let executable):
            try await FakeUpstream.run(upstream) { upstream in
                let server = try await ChildServer.start(
                    upstreamPort: await upstream.boundPort(), maxGenerationsPerUser: maxClients + 16, historyLength: historyLength,
                    cpus: cpus, executable: executable, toolSchemas: options.toolSchemas)
                do {
                    try await measure(server.target, phase: phase, rssAtStart: rssAtStart)
                    await server.stop()
                } catch {
                    await server.stop()
                    throw error
                }
            }
        }
    }

    /// (a), (b) and (c) against a running AgentHost.
    private func measure(_ target: Target, phase: LockedBox<Phase>, rssAtStart: Int?) async throws {
        let client = HTTPClient.benchClient(connections: (options.clients.max() ?? 1) * 2)
        do {
            let rssAfterSetup = ProcessMemory.resident
            try await measureTimeToFirstToken(target, client: client)
            let rssAfterTTFT = ProcessMemory.resident
            let peakReset = ProcessMemory.resetPeak()
            try await measureThroughput(target, client: client, phase: phase)
            let rssAtEnd = ProcessMemory.resident
            let whose = target.serverPID == nil ? "the whole process (clients + AgentHost + upstream)" : "this process (clients + upstream)"
            var memory = BenchTable("(c) Resident memory of \(whose)", header: ["point", "VmRSS", "growth since setup"])
            memory.add(["start (before setup)", ProcessMemory.format(rssAtStart), ""])
            memory.add(["after setup", ProcessMemory.format(rssAfterSetup), ProcessMemory.formatDelta(from: rssAfterSetup, to: rssAfterSetup)])
            memory.add(["after (a) TTFT", ProcessMemory.format(rssAfterTTFT), ProcessMemory.formatDelta(from: rssAfterSetup, to: rssAfterTTFT)])
            memory.add(["after (b) throughput", ProcessMemory.format(rssAtEnd), ProcessMemory.formatDelta(from: rssAfterSetup, to: rssAtEnd)])
            memory.add([peakReset ? "peak during (b) (VmHWM)" : "peak of the process (VmHWM)", ProcessMemory.format(ProcessMemory.peak),
                        ProcessMemory.formatDelta(from: rssAfterSetup, to: ProcessMemory.peak)])
            if let pid = target.serverPID {
                memory.add(["AgentHost process after (b) (VmRSS)", ProcessMemory.format(ChildServer.memory(pid, "VmRSS")), ""])
                memory.add(["AgentHost process peak (VmHWM)", ProcessMemory.format(ChildServer.memory(pid, "VmHWM")), ""])
            }
            memory.print()
            try await client.shutdown()
        } catch {
            try? await client.shutdown()
            throw error
        }
    }

    // MARK: (a) Time to first token

    private func measureTimeToFirstToken(_ target: Target, client: HTTPClient) async throws {
        var direct = Samples()
        var viaAgentHost = Samples()
        var paired = Samples()
        var cpuDirect = Samples()
        var cpuViaAgentHost = Samples()
        var requestCPUDirect = Samples()
        var requestCPUVia = Samples()
        var requestCPUPaired = Samples()
        var failures = 0
        var serverCPUAtStart: Double?
        for index in 0..<(options.warmup + options.requests) {
            if index == options.warmup { serverCPUAtStart = target.serverCPU }
            // Alternate which path goes first so neither always runs on a warmer cache.
            let order: [Path] = index.isMultiple(of: 2) ? [.direct, .agentHost] : [.agentHost, .direct]
            var pair: [Path: Double] = [:]
            var cpu: [Path: Double] = [:]
            var requestCPU: [Path: Double] = [:]
            for path in order {
                do {
                    let result = try await stream(path, target: target, client: client, label: "ttft-\(index)")
                    if let ttft = result.timeToFirstToken, result.tokens == options.tokens {
                        pair[path] = ttft.milliseconds
                        cpu[path] = result.cpuToFirstToken
                        requestCPU[path] = result.cpu
                    }
                } catch {
                    failures += 1
                    if failures <= 3 { print("  request failed (\(name(path))): \(error)") }
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
            if let first = requestCPU[.direct], let second = requestCPU[.agentHost] {
                requestCPUDirect.append(first)
                requestCPUVia.append(second)
                requestCPUPaired.append(second - first)
            }
        }
        // Sequential: between the measured requests AgentHost is idle, so its CPU time over the phase is its cost per request.
        var serverCPUPerRequest: Double?
        if let start = serverCPUAtStart, let end = target.serverCPU {
            serverCPUPerRequest = (end - start) * 1000 / Double(options.requests)
        }
        var table = BenchTable(
            "(a) Time to first content token, \(direct.count) sequential request pairs (after \(options.warmup) warm-up pairs), ms",
            header: ["path", "p50", "p99", "mean", "min", "max"])
        for (name, samples) in [(name(.direct), direct), (name(.agentHost), viaAgentHost)] {
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
        for (name, samples) in [("process CPU time per request (send to last byte), direct", requestCPUDirect),
                                ("process CPU time per request (send to last byte), via AgentHost", requestCPUVia),
                                ("  paired via - direct" + (target.serverPID == nil ? " (= AgentHost's CPU per request)" : ""), requestCPUPaired)] {
            table.add([name, BenchFormat.ms(samples.p50), BenchFormat.ms(samples.p99), BenchFormat.ms(samples.mean),
                       BenchFormat.ms(samples.min), BenchFormat.ms(samples.max)])
        }
        if let serverCPUPerRequest {
            table.add(["AgentHost process CPU per request (/proc, phase total / requests)", "", "", BenchFormat.ms(serverCPUPerRequest), "", ""])
        }
        table.print()
        print("The upstream pauses \(Int(Self.firstTokenPause.milliseconds)) ms after the first token in (a), so the rest of the answer does not "
              + "compete with its delivery.")
        print("CPU time to first token: CPU time of all the process's threads from sending to the first token, i.e. the "
              + "work done, whatever the scheduling; mostly sequential here, so the CPU AgentHost adds bounds its added TTFT from below.")
        print(target.serverPID == nil
              ? "CPU per request: this process's CPU time from sending to the last byte; the client and upstream work is the same "
                + "on both paths, so via - direct is AgentHost's own CPU per request."
              : "CPU per request: this process's (clients + upstream) CPU time from sending to the last byte; AgentHost's own is "
                + "read from /proc/PID/stat (10 ms ticks, summed over the phase).")
        let added = paired.p50
        print("Target: added TTFT p50 <= \(BenchFormat.ms(Self.targetAddedTTFT)) ms -> paired p50 \(BenchFormat.ms(added)) ms: "
              + "\(BenchFormat.verdict(added <= Self.targetAddedTTFT))"
              + (failures > 0 ? "  (\(failures) failed requests)" : "") + "\n")
    }

    // MARK: (b) Throughput

    private func measureThroughput(_ target: Target, client: HTTPClient, phase: LockedBox<Phase>) async throws {
        var table = BenchTable(
            "(b) Throughput: C concurrent streams of \(options.tokens) tokens; tokens/s = all tokens received by all clients / wall time; "
                + "direct and via take turns in up to \(Self.throughputSlices) slices of each level's rounds",
            header: ["clients", "streams", "direct s", "direct tok/s", "via s", "via tok/s", "via/direct",
                     "via stream p50 ms", "via stream p99 ms", "cores busy direct/via", "CPU us/token direct/via",
                     target.serverPID == nil ? "AgentHost CPU ms/req (via-direct)" : "AgentHost CPU ms/req (/proc)",
                     "errors", "warm-up s direct/via", "listen overflows"])
        var worstShare: (share: Double, clients: Int)?
        var worstCPU: (milliseconds: Double, clients: Int)?
        for clients in options.clients where clients > 0 {
            let rounds = max(1, options.requests / clients)
            // One unmeasured stream per client first, so the measured rounds find every connection
            // (client -> upstream, client -> AgentHost, AgentHost -> upstream) open in the pools.
            let overflowsBefore = KernelCounters.listenOverflows
            phase.withLock { $0 = .warmup }
            let directWarmup = try await concurrentStreams(.direct, clients: clients, rounds: 1, tokens: 1,
                                                           target: target, client: client)
            let viaWarmup = try await concurrentStreams(.agentHost, clients: clients, rounds: 1, tokens: 1,
                                                        target: target, client: client)
            phase.withLock { $0 = .throughput }
            let overflowsAfterWarmup = KernelCounters.listenOverflows
            // Direct and via take turns in slices of the rounds, so a change in the machine's pace (a
            // shared machine's moves by 2x from one minute to the next) falls on both legs alike
            // instead of skewing their ratio.
            var direct = LevelResult()
            var via = LevelResult()
            let slices = min(rounds, Self.throughputSlices)
            for slice in 0..<slices {
                let sliceRounds = rounds / slices + (slice < rounds % slices ? 1 : 0)
                direct.add(try await concurrentStreams(.direct, clients: clients, rounds: sliceRounds, tokens: options.tokens,
                                                       target: target, client: client))
                via.add(try await concurrentStreams(.agentHost, clients: clients, rounds: sliceRounds, tokens: options.tokens,
                                                    target: target, client: client))
            }
            let overflowsAfter = KernelCounters.listenOverflows
            var overflows = "n/a"
            if let overflowsBefore, let overflowsAfterWarmup, let overflowsAfter {
                overflows = "\(overflowsAfterWarmup - overflowsBefore)/\(overflowsAfter - overflowsAfterWarmup)"
            }
            let directRate = Double(direct.tokens) / direct.wall.seconds
            let viaRate = Double(via.tokens) / via.wall.seconds
            let streams = Double(max(clients * rounds, 1))
            let serverCPUPerRequest = via.serverCPU.map { $0 * 1000 / streams } ?? (via.cpu - direct.cpu) * 1000 / streams
            if viaRate / directRate < worstShare?.share ?? .infinity { worstShare = (viaRate / directRate, clients) }
            if serverCPUPerRequest > worstCPU?.milliseconds ?? -.infinity { worstCPU = (serverCPUPerRequest, clients) }
            table.add([String(clients), String(clients * rounds), String(format: "%.3f", direct.wall.seconds),
                       BenchFormat.number(directRate), String(format: "%.3f", via.wall.seconds), BenchFormat.number(viaRate),
                       String(format: "%.2f", viaRate / directRate), BenchFormat.ms(via.streamDurations.p50),
                       BenchFormat.ms(via.streamDurations.p99),
                       String(format: "%.2f/%.2f", direct.cpu / direct.wall.seconds, via.cpu / via.wall.seconds),
                       String(format: "%.1f/%.1f", direct.cpu * 1e6 / Double(max(direct.tokens, 1)), via.cpu * 1e6 / Double(max(via.tokens, 1))),
                       String(format: "%.2f", serverCPUPerRequest), "\(direct.errors)/\(via.errors)",
                       String(format: "%.2f/%.2f", directWarmup.wall.seconds, viaWarmup.wall.seconds), overflows])
        }
        table.print()
        if let worstShare {
            print("Target: via/direct >= \(String(format: "%.2f", Self.targetShareOfDirect)) at every C -> lowest "
                  + "\(String(format: "%.2f", worstShare.share)) (C=\(worstShare.clients)): "
                  + "\(BenchFormat.verdict(worstShare.share >= Self.targetShareOfDirect))")
        }
        if let worstCPU {
            print("Target: AgentHost CPU per request <= \(BenchFormat.ms(Self.targetCPUPerRequest)) ms at every C -> highest "
                  + "\(String(format: "%.2f", worstCPU.milliseconds)) ms (C=\(worstCPU.clients)): "
                  + "\(BenchFormat.verdict(worstCPU.milliseconds <= Self.targetCPUPerRequest))")
        }
        if target.serverPID == nil {
            print("Cores busy: process CPU time / wall time (all threads: clients, AgentHost, upstream). CPU us/token: process CPU "
                  + "time per delivered token; via minus direct is roughly AgentHost's own cost per token. AgentHost CPU ms/req: "
                  + "(process CPU of the via level - of the direct level) / streams.")
        } else {
            print("Cores busy and CPU us/token: this process's CPU (clients + upstream; AgentHost runs in its own process). "
                  + "AgentHost CPU ms/req: the AgentHost process's CPU time over the via level (/proc/PID/stat) / streams.")
        }
        print("Errors: failed or short streams, direct/via. Warm-up: the unmeasured first round (one 1-token stream per client, "
              + "opening the connections). Listen overflows: connections the kernel dropped (system-wide) because an accept "
              + "queue was full, during warm-up/measured rounds; each costs its client a >= 1 s SYN retransmit.\n")
    }

    /// What one level of concurrent streams delivered.
    struct LevelResult: Sendable {
        var wall: Duration = .zero
        /// CPU seconds this process used meanwhile (clients and upstream, and AgentHost when it runs in-process).
        var cpu: Double = 0
        /// CPU seconds AgentHost's own process used meanwhile; `nil` in-process.
        var serverCPU: Double?
        var tokens = 0
        var errors = 0
        var streamDurations = Samples()

        /// Adds a later slice of the same level.
        mutating func add(_ slice: LevelResult) {
            wall += slice.wall
            cpu += slice.cpu
            if let sliceCPU = slice.serverCPU { serverCPU = (serverCPU ?? 0) + sliceCPU }
            tokens += slice.tokens
            errors += slice.errors
            streamDurations.append(contentsOf: slice.streamDurations)
        }
    }

    /// `clients` concurrent clients, each streaming `rounds` answers of `tokens` tokens one after another.
    private func concurrentStreams(_ path: Path, clients: Int, rounds: Int, tokens expected: Int, target: Target,
                                   client: HTTPClient) async throws -> LevelResult {
        let started = ContinuousClock.now
        let cpuBefore = ProcessCPU.seconds
        let serverCPUBefore = target.serverCPU
        let perClient = await withTaskGroup(of: (tokens: Int, errors: Int, durations: [Double]).self) { group in
            for clientIndex in 0..<clients {
                group.addTask {
                    var tokens = 0
                    var errors = 0
                    var durations: [Double] = []
                    for round in 0..<rounds {
                        do {
                            let result = try await stream(path, target: target, client: client,
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
        var serverCPU: Double?
        if let serverCPUBefore, let serverCPUAfter = target.serverCPU { serverCPU = serverCPUAfter - serverCPUBefore }
        return LevelResult(wall: wall, cpu: ProcessCPU.seconds - cpuBefore, serverCPU: serverCPU, tokens: perClient.reduce(0) { $0 + $1.tokens },
                           errors: perClient.reduce(0) { $0 + $1.errors }, streamDurations: Samples(perClient.flatMap(\.durations)))
    }

    // MARK: One stream

    /// Sends one streaming chat request and counts the content tokens as they arrive (without parsing JSON).
    private func stream(_ path: Path, target: Target, client: HTTPClient, label: String) async throws -> StreamResult {
        var request: HTTPClientRequest
        var counter: PatternCounter
        switch path {
        case .direct:
            request = HTTPClientRequest(url: target.upstreamURL + "/v1/chat/completions")
            let body: JSONValue = ["model": "fake-model", "stream": true, "stream_options": ["include_usage": true],
                                   "messages": [["role": "user", "content": .string("bench \(label)")]]]
            request.body = .bytes(ByteBuffer(bytes: body.serialized()))
            // Chunks serialize with sorted keys: `{"content":"tok…"}` is a content token, the role chunk has `""`.
            counter = PatternCounter(#""content":"tok"#)
        case .agentHost where options.endpoint == .v1:
            // The same request and counter as direct; the model is the workspace.
            request = HTTPClientRequest(url: target.serverURL + Endpoint.v1.path)
            let body: JSONValue = ["model": .string(target.workspaceSlug), "stream": true, "stream_options": ["include_usage": true],
                                   "messages": [["role": "user", "content": .string("bench \(label)")]]]
            request.body = .bytes(ByteBuffer(bytes: body.serialized()))
            counter = PatternCounter(#""content":"tok"#)
        case .agentHost:
            request = HTTPClientRequest(url: target.serverURL + Endpoint.streamChat.path)
            let body: JSONValue = ["message": .string("bench \(label)"), "workspace": .string(target.workspaceSlug)]
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
            throw BenchError("\(name(path)) answered \(response.status.code): \(String(buffer: text).prefix(300))")
        }
        var firstToken: Duration?
        var cpuToFirstToken: Double?
        for try await buffer in response.body {
            if counter.consume(buffer) > 0, firstToken == nil {
                firstToken = started.duration(to: .now)
                cpuToFirstToken = (ProcessCPU.seconds - cpuStart) * 1000
            }
        }
        return StreamResult(timeToFirstToken: firstToken, cpuToFirstToken: cpuToFirstToken, cpu: (ProcessCPU.seconds - cpuStart) * 1000,
                            duration: started.duration(to: .now), tokens: counter.count)
    }
}

/// A benchmark that could not run as set up.
struct BenchError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// `agenthost serve` (the binary built next to this one) as a child process for ``ChatBenchmark``: single-user mode on a free
/// loopback port, a temporary data directory, the fake upstream as its OpenAI provider with no concurrency
/// limit, optionally pinned to CPUs with `taskset`, so its CPU time is its own and readable from `/proc`.
struct ChildServer: Sendable {
    let process: Process
    let directory: URL
    let target: ChatBenchmark.Target

    static func start(upstreamPort: Int, maxGenerationsPerUser: Int, historyLength: Int, cpus: String?, executable: String?,
                      toolSchemas: String?) async throws -> ChildServer {
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("agenthost-bench-serve-\(UUID().uuidString.lowercased())", isDirectory: true)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let port = try freeLoopbackPort()
        let executable = try executable ?? ServerExecutable.sibling().path
        var arguments = [
            "serve", "--host", "127.0.0.1", "--port", String(port), "--data-dir", directory.path, "--log-level", "warning",
            "--llm-provider", "openai", "--llm-base-url", "http://127.0.0.1:\(upstreamPort)/v1", "--llm-api-key", "bench",
            "--llm-model", "fake-model", "--jwt-secret", "agenthost-bench-secret-that-is-long-enough-for-hs256",
        ]
        if let toolSchemas { arguments += ["--tool-schemas", toolSchemas] }
        let process = Process()
        // Limits that came later go in through the environment, which an older server (--server-binary) ignores
        // instead of refusing an unknown flag: no local-model slot limit on the loopback fake (unlimited, as a
        // vendor), and room for every client of the single user.
        process.environment = ProcessInfo.processInfo.environment.merging(
            ["AGENTHOST_LLM_MAX_CONCURRENCY": "0", "AGENTHOST_MAX_GENERATIONS_PER_USER": String(maxGenerationsPerUser)]) { _, new in new }
        if let cpus {
            // taskset execs the server, so the child's PID is the server's.
            process.executableURL = URL(fileURLWithPath: "/usr/bin/taskset")
            process.arguments = ["-c", cpus, executable] + arguments
        } else {
            process.executableURL = URL(fileURLWithPath: executable)
            process.arguments = arguments
        }
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        let serverURL = "http://127.0.0.1:\(port)"
        let client = HTTPClient.benchClient(connections: 2)
        do {
            // Up when /api/health answers; then the workspace the benchmark chats in.
            let deadline = ContinuousClock.now + .seconds(60)
            while true {
                guard process.isRunning else { throw BenchError("agenthost serve exited with status \(process.terminationStatus)") }
                guard ContinuousClock.now < deadline else { throw BenchError("agenthost serve did not answer /api/health within 60 s") }
                if let response = try? await client.execute(HTTPClientRequest(url: serverURL + "/api/health"), timeout: .seconds(2)),
                   response.status == .ok {
                    break
                }
                try await Task.sleep(for: .milliseconds(100))
            }
            var request = HTTPClientRequest(url: serverURL + "/api/workspaces")
            request.method = .POST
            request.headers.add(name: "content-type", value: "application/json")
            let body: JSONValue = ["name": "Bench", "history_length": .number(Double(historyLength))]
            request.body = .bytes(ByteBuffer(bytes: body.serialized()))
            let response = try await client.execute(request, timeout: .seconds(10))
            let answer = try await response.body.collect(upTo: 1 << 20)
            guard (200..<300).contains(response.status.code),
                  let slug = (try? JSONValue(parsing: answer.readableBytesView))?["slug"]?.stringValue else {
                throw BenchError("creating the workspace answered \(response.status.code): \(String(buffer: answer).prefix(300))")
            }
            try await client.shutdown()
            return ChildServer(process: process, directory: directory, target: .init(
                upstreamURL: "http://127.0.0.1:\(upstreamPort)", serverURL: serverURL, workspaceSlug: slug,
                serverPID: process.processIdentifier))
        } catch {
            try? await client.shutdown()
            await ChildServer(process: process, directory: directory, target: .init(
                upstreamURL: "", serverURL: serverURL, workspaceSlug: "", serverPID: nil)).stop()
            throw error
        }
    }

    /// SIGTERM, then SIGKILL after 10 s; removes the data directory.
    func stop() async {
        if process.isRunning { process.terminate() }
        let deadline = ContinuousClock.now + .seconds(10)
        while process.isRunning, ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(50))
        }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
        try? FileManager.default.removeItem(at: directory)
    }

    /// User + system CPU seconds of all threads of process `pid` (`/proc/PID/stat` fields 14 and 15, in clock ticks).
    static func cpuSeconds(_ pid: Int32) -> Double? {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let end = text.lastIndex(of: ")") else { return nil }
        // After "pid (comm)" come the fields from 3 (state) on: utime is field 14, stime 15.
        let fields = text[text.index(after: end)...].split(separator: " ")
        guard fields.count > 12, let user = Double(fields[11]), let system = Double(fields[12]) else { return nil }
        return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }

    /// A memory field of process `pid` in bytes (`VmRSS`, `VmHWM` of `/proc/PID/status`).
    static func memory(_ pid: Int32, _ field: String) -> Int? {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix(field + ":") {
            let parts = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            guard parts.count >= 2, let kilobytes = Int(parts[1]) else { return nil }
            return kilobytes * 1024
        }
        return nil
    }

    /// A port no one listens on now (bound to port 0 and closed), for the child to listen on.
    private static func freeLoopbackPort() throws -> Int {
        let socketFD = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard socketFD >= 0 else { throw BenchError("socket() failed: errno \(errno)") }
        defer { close(socketFD) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { raw in
                bind(socketFD, raw, length) == 0 && getsockname(socketFD, raw, &length) == 0
            }
        }
        guard bound else { throw BenchError("could not bind a loopback port: errno \(errno)") }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}
