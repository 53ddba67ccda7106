import ChatBridge
import Foundation
import HummingbirdWSClient
import Logging
import NIOCore
import Synchronization

/// `agenthost bench agent`: what the invocation engine adds per tool step, over `ws/agent/{slug}/`,
/// against a zero-delay fake model server.
///
/// The upstream decides every model step from the request itself (the last user message names the
/// plan; the `tool` messages after it say how far the run is), so concurrent invocations share no
/// queue. (a) one server tool (`calculator`) per invocation; (b) one client tool per invocation,
/// answered as soon as its `tool_call` arrives; (c) many concurrent invocations of several
/// sequential tool calls each. Prints numbers; asserts nothing.
struct AgentBenchmark: Sendable {
    /// Which tools the model calls in the concurrent measurement.
    enum Mix: String, Sendable {
        /// Alternating server (`calculator`) and client tool calls.
        case mixed
        /// Client tool calls only.
        case client
    }

    struct Options: Sendable {
        var invocations = 100
        var calls = 10
        var concurrency = 100
        var mix = Mix.mixed
        var warmup = 10
        var toolSchemas: String?
    }

    let options: Options

    /// Targets, p50, in milliseconds.
    static let targetServerStep = 1.0
    static let targetClientRoundTrip = 3.0

    static let clientToolName = "bench_echo"
    static let clientTool: JSONValue = [
        "name": .string(clientToolName), "description": "Echoes its input back.",
        "parameters": ["type": "object", "properties": ["value": ["type": "number"]], "required": ["value"]],
    ]

    // MARK: The scripted model

    /// What an invocation's model does, encoded in its user message: `bench <tools> <calls> <id>`.
    struct Plan: Sendable {
        enum Tools: String, Sendable {
            case server, client, mixed
        }

        var tools: Tools
        var calls: Int
        var id: String

        var message: String { "bench \(tools.rawValue) \(calls) \(id)" }

        init(tools: Tools, calls: Int, id: String) {
            self.tools = tools
            self.calls = calls
            self.id = id
        }

        init?(message: String) {
            let words = message.split(separator: " ")
            guard words.count == 4, words[0] == "bench", let tools = Tools(rawValue: String(words[1])),
                  let calls = Int(words[2]) else { return nil }
            self.init(tools: tools, calls: calls, id: String(words[3]))
        }

        /// Whether the tool call after `done` earlier ones runs on the server.
        func callsServerTool(after done: Int) -> Bool {
            switch tools {
            case .server: true
            case .client: false
            case .mixed: done.isMultiple(of: 2)
            }
        }
    }

    /// The last user message of a chat-completions request and how many tool results follow it.
    static func progress(of body: JSONValue) -> (message: String, toolResults: Int)? {
        guard let messages = body["messages"]?.arrayValue,
              let userIndex = messages.lastIndex(where: { $0["role"]?.stringValue == "user" }),
              let message = messages[userIndex]["content"]?.stringValue else { return nil }
        let toolResults = messages[(userIndex + 1)...].filter { $0["role"]?.stringValue == "tool" }.count
        return (message, toolResults)
    }

    static let answer = VendorStream.openAI(tokens: ["Done", ": ", "14", "."], usage: Usage(promptTokens: 40, completionTokens: 4))

    /// The next model step of the invocation that sent `body`: another tool call, or the answer.
    static func script(for body: JSONValue) -> UpstreamScript {
        guard let progress = progress(of: body), let plan = Plan(message: progress.message),
              progress.toolResults < plan.calls else { return answer }
        let callId = "call_\(progress.toolResults + 1)"
        if plan.callsServerTool(after: progress.toolResults) {
            return VendorStream.openAIToolCalls([(id: callId, name: "calculator", arguments: #"{"expression":"2+3*4"}"#)])
        }
        return VendorStream.openAIToolCalls([(id: callId, name: clientToolName, arguments: #"{"value":\#(progress.toolResults)}"#)])
    }

    // MARK: Run

    func run() async throws {
        // The upstream keeps only each request's plan message, to group its exchanges by invocation.
        let upstream = FakeUpstream(fallback: { Self.script(for: $0) },
                                    retainBody: { body in Self.progress(of: body).map { .string($0.message) } ?? .null })
        let concurrency = options.concurrency
        print("AgentHost agent benchmark: \(options.invocations) sequential invocations per tool kind, then \(concurrency) "
              + "concurrent invocations x \(options.calls) sequential tool calls (\(options.mix.rawValue))")
        print(BenchFormat.environmentNote())
        print("Upstream: in-process fake OpenAI server, zero delay; one tool call per model step. AgentHost: single-user mode, "
              + "SQLite (WAL) in a temp dir; per-user concurrent run limit raised to \(concurrency + 16) for (c).\n")
        let rssAtStart = ProcessMemory.resident

        try await BenchEnvironment.run(toolSchemas: options.toolSchemas, upstream: upstream, configure: { configuration in
            configuration.agent.maxConcurrentPerUser = concurrency + 16
        }) { environment in
            let rssAfterSetup = ProcessMemory.resident
            let server = try await sequential(.server, environment: environment)
            let client = try await sequential(.client, environment: environment)
            var table = BenchTable(
                "(a)/(b) \(options.invocations) sequential invocations, one tool call each (after \(options.warmup) warm-up), ms",
                header: ["measurement", "n", "p50", "p99", "mean", "max"])
            func add(_ name: String, _ samples: Samples) {
                table.add([name, String(samples.count), BenchFormat.ms(samples.p50), BenchFormat.ms(samples.p99),
                           BenchFormat.ms(samples.mean), BenchFormat.ms(samples.max)])
            }
            add("(a) server tool: tool_call -> tool_result frame at client", server.callToResult)
            add("(a) server tool: engine step gap at upstream", server.upstreamGaps)
            add("(a) server tool: invocation duration at client", server.durations)
            add("(b) client tool: tool_call recv -> tool_result recv (round trip)", client.callToResult)
            add("(b) client tool: engine step gap at upstream", client.upstreamGaps)
            add("(b) client tool: invocation duration at client", client.durations)
            table.print()
            print("Engine step gap = end of one upstream response -> arrival of the same invocation's next upstream request "
                  + "(parse, store step, validate, run/send tool, store result, next request).")
            print("Target: < \(BenchFormat.ms(Self.targetServerStep)) ms added per server-tool step, p50 -> step gap p50 "
                  + "\(BenchFormat.ms(server.upstreamGaps.p50)) ms: \(BenchFormat.verdict(server.upstreamGaps.p50 < Self.targetServerStep))")
            print("Target: < \(BenchFormat.ms(Self.targetClientRoundTrip)) ms per client-tool round trip, p50 -> round trip p50 "
                  + "\(BenchFormat.ms(client.callToResult.p50)) ms: \(BenchFormat.verdict(client.callToResult.p50 < Self.targetClientRoundTrip)); "
                  + "step gap p50 \(BenchFormat.ms(client.upstreamGaps.p50)) ms: \(BenchFormat.verdict(client.upstreamGaps.p50 < Self.targetClientRoundTrip))")
            if server.failures + client.failures > 0 {
                print("Failed invocations: server \(server.failures), client \(client.failures).")
            }
            print("")

            let rssBeforeConcurrent = ProcessMemory.resident
            let peakReset = ProcessMemory.resetPeak()
            try await concurrent(environment: environment)
            let rssAtEnd = ProcessMemory.resident
            var memory = BenchTable("Resident memory of the whole process (clients + AgentHost + upstream)",
                                    header: ["point", "VmRSS", "growth since setup"])
            memory.add(["start (before setup)", ProcessMemory.format(rssAtStart), ""])
            memory.add(["after setup", ProcessMemory.format(rssAfterSetup), ProcessMemory.formatDelta(from: rssAfterSetup, to: rssAfterSetup)])
            memory.add(["after (a)+(b)", ProcessMemory.format(rssBeforeConcurrent),
                        ProcessMemory.formatDelta(from: rssAfterSetup, to: rssBeforeConcurrent)])
            memory.add(["after (c)", ProcessMemory.format(rssAtEnd), ProcessMemory.formatDelta(from: rssAfterSetup, to: rssAtEnd)])
            memory.add([peakReset ? "peak during (c) (VmHWM)" : "peak of the process (VmHWM)", ProcessMemory.format(ProcessMemory.peak),
                        ProcessMemory.formatDelta(from: rssAfterSetup, to: ProcessMemory.peak)])
            memory.print()
            print("Finished runs stay in memory for replay for 5 minutes (AgentLimits.retention), so RSS growth includes them.")
        }
    }

    // MARK: (a), (b) Sequential

    struct SequentialResult: Sendable {
        var callToResult = Samples()
        var upstreamGaps = Samples()
        var durations = Samples()
        var failures = 0
    }

    private func sequential(_ tools: Plan.Tools, environment: BenchEnvironment) async throws -> SequentialResult {
        let phase = "seq\(tools.rawValue)"
        let outcome = LockedBox(SequentialResult())
        let total = options.warmup + options.invocations
        let warmup = options.warmup
        try await AgentConnection.connect(environment) { connection in
            for index in 0..<total {
                let plan = Plan(tools: tools, calls: 1, id: "\(phase)-\(index)")
                let trace = try await connection.invoke(plan)
                guard index >= warmup else { continue }
                outcome.withLock { result in
                    if trace.status != "completed" || trace.toolResults != plan.calls { result.failures += 1 }
                    for value in trace.callToResult { result.callToResult.append(value) }
                    result.durations.append(trace.duration.benchMilliseconds)
                }
            }
        }
        var result = outcome.withLock { $0 }
        let measured = Set((warmup..<total).map { Plan(tools: tools, calls: 1, id: "\(phase)-\($0)").message })
        result.upstreamGaps = await Self.stepGaps(upstream: environment.upstream, messages: measured)
        return result
    }

    // MARK: (c) Concurrent

    private func concurrent(environment: BenchEnvironment) async throws {
        let count = options.concurrency
        let tools: Plan.Tools = options.mix == .mixed ? .mixed : .client
        let plans = (0..<count).map { Plan(tools: tools, calls: options.calls, id: "conc-\($0)") }
        let ready = Latch(count: count)
        let go = OneShot<ContinuousClock.Instant>()
        let traces = LockedBox<[InvocationTrace]>([])
        let connectFailures = LockedBox<[String]>([])

        let wall: Duration = try await withThrowingTaskGroup(of: Void.self) { group in
            for (index, plan) in plans.enumerated() {
                group.addTask {
                    do {
                        try await AgentConnection.connect(environment) { connection in
                            ready.arrive(index)
                            _ = await go.value
                            let trace = try await connection.invoke(plan)
                            traces.withLock { $0.append(trace) }
                        }
                    } catch {
                        connectFailures.withLock { $0.append("\(error)") }
                    }
                    ready.arrive(index)
                }
            }
            await ready.wait()
            let started = ContinuousClock.now
            go.set(started)
            try await group.waitForAll()
            let finished = traces.withLock { $0.map(\.finishedAt) }.max() ?? started
            return started.duration(to: finished)
        }

        let all = traces.withLock { $0 }
        let completed = all.filter { $0.status == "completed" && $0.toolResults == options.calls }
        let toolCalls = all.reduce(0) { $0 + $1.toolResults }
        var durations = Samples()
        var callToResult = Samples()
        var serverCalls = Samples()
        var clientCalls = Samples()
        for trace in all {
            durations.append(trace.duration.benchMilliseconds)
            for value in trace.callToResult { callToResult.append(value) }
            for value in trace.serverCallToResult { serverCalls.append(value) }
            for value in trace.clientCallToResult { clientCalls.append(value) }
        }
        let gaps = await Self.stepGaps(upstream: environment.upstream, messages: Set(plans.map(\.message)))

        var summary = BenchTable("(c) \(count) concurrent invocations (one WebSocket each) x \(options.calls) sequential tool calls (\(options.mix.rawValue))",
                                 header: ["metric", "value"])
        summary.add(["wall time (first agent_invoke -> last agent_complete)", String(format: "%.3f s", wall.benchSeconds)])
        summary.add(["invocations completed / started", "\(completed.count) / \(count)"])
        summary.add(["tool calls completed", "\(toolCalls)"])
        summary.add(["tool calls/s", BenchFormat.number(Double(toolCalls) / wall.benchSeconds)])
        summary.add(["model steps/s (upstream requests)", BenchFormat.number(Double(gaps.count + all.count) / wall.benchSeconds)])
        if !connectFailures.withLock({ $0.isEmpty }) {
            summary.add(["connection failures", "\(connectFailures.withLock { $0.count }): \(connectFailures.withLock { $0.first ?? "" })"])
        }
        summary.print()
        var latencies = BenchTable("(c) latencies under load, ms", header: ["measurement", "n", "p50", "p99", "mean", "max"])
        func add(_ name: String, _ samples: Samples) {
            latencies.add([name, String(samples.count), BenchFormat.ms(samples.p50), BenchFormat.ms(samples.p99),
                           BenchFormat.ms(samples.mean), BenchFormat.ms(samples.max)])
        }
        add("invocation duration (agent_invoke sent -> agent_complete)", durations)
        add("engine step gap at upstream", gaps)
        if tools == .mixed { add("server tool: tool_call -> tool_result frame", serverCalls) }
        add("client tool: tool_call recv -> tool_result recv", clientCalls)
        latencies.print()
    }

    // MARK: Upstream timing

    /// For the invocations whose plan message is in `messages`: the time from the end of each upstream
    /// response to the arrival of the same invocation's next request, in milliseconds.
    static func stepGaps(upstream: FakeUpstream, messages: Set<String>) async -> Samples {
        let exchanges = await upstream.exchanges
        var byInvocation: [String: [FakeUpstream.Exchange]] = [:]
        for exchange in exchanges {
            guard let message = exchange.body.stringValue, messages.contains(message) else { continue }
            byInvocation[message, default: []].append(exchange)
        }
        var gaps = Samples()
        for (_, steps) in byInvocation {
            let ordered = steps.sorted { $0.receivedAt < $1.receivedAt }
            for (previous, next) in zip(ordered, ordered.dropFirst()) {
                guard let ended = previous.endedAt else { continue }
                gaps.append(ended.duration(to: next.receivedAt).benchMilliseconds)
            }
        }
        return gaps
    }
}

// MARK: Client side

/// What the client saw of one invocation.
struct InvocationTrace: Sendable {
    var status = ""
    var toolResults = 0
    var duration: Duration = .zero
    var finishedAt: ContinuousClock.Instant = .now
    /// Per call: milliseconds from receiving `tool_call` to receiving its `tool_result`.
    var callToResult: [Double] = []
    var serverCallToResult: [Double] = []
    var clientCallToResult: [Double] = []
}

/// The bench's end of one agent WebSocket. Used only from the connection handler's task.
final class AgentConnection: @unchecked Sendable {
    private var inbound: WebSocketInboundMessageStream.AsyncIterator
    private let outbound: WebSocketOutboundWriter

    private init(inbound: WebSocketInboundStream, outbound: WebSocketOutboundWriter) {
        self.inbound = inbound.messages(maxSize: 1 << 22).makeAsyncIterator()
        self.outbound = outbound
    }

    /// Opens `ws/agent/{slug}/`, runs `body`, and closes the socket.
    static func connect(_ environment: BenchEnvironment, _ body: @escaping @Sendable (AgentConnection) async throws -> Void) async throws {
        var logger = Logger(label: "agenthost-bench-ws")
        logger.logLevel = .warning
        let url = "ws://127.0.0.1:\(environment.port)/ws/agent/\(environment.workspace.slug)/"
        try await WebSocketClient.connect(url: url, configuration: .init(maxFrameSize: 1 << 22), logger: logger) { inbound, outbound, _ in
            let connection = AgentConnection(inbound: inbound, outbound: outbound)
            try await body(connection)
            try? await outbound.close(.normalClosure, reason: nil)
        }
    }

    private func send(_ frame: JSONValue) async throws {
        try await outbound.write(.text(frame.serializedString))
    }

    /// The next frame and when it arrived (taken before parsing).
    private func next() async throws -> (frame: JSONValue, at: ContinuousClock.Instant) {
        while true {
            guard let message = try await inbound.next() else { throw BenchError("The agent socket closed.") }
            let at = ContinuousClock.now
            guard case .text(let text) = message else { continue }
            return (try JSONValue(parsing: text), at)
        }
    }

    /// Invokes the agent with `plan`, answers its client tool calls at once, and returns what happened.
    func invoke(_ plan: AgentBenchmark.Plan) async throws -> InvocationTrace {
        var invoke: [String: JSONValue] = [
            "type": "agent_invoke", "message": .string(plan.message), "request_id": .string(plan.id),
            "max_steps": .number(Double(plan.calls + 2)),
        ]
        switch plan.tools {
        case .server: invoke["tools"] = ["calculator"]
        case .client: invoke["tools"] = []; invoke["client_tools"] = [AgentBenchmark.clientTool]
        case .mixed: invoke["tools"] = ["calculator"]; invoke["client_tools"] = [AgentBenchmark.clientTool]
        }
        var trace = InvocationTrace()
        var invocationId: String?
        var callsReceived: [String: (at: ContinuousClock.Instant, client: Bool)] = [:]
        let started = ContinuousClock.now
        try await send(.object(invoke))
        while true {
            let (frame, at) = try await next()
            let type = frame["type"]?.stringValue
            if invocationId == nil, type == "agent_start", frame["request_id"]?.stringValue == plan.id {
                invocationId = frame["invocation_id"]?.stringValue
            }
            // One invocation per connection at a time: frames of other invocations do not occur.
            switch type {
            case "tool_call":
                guard let callId = frame["call_id"]?.stringValue else { continue }
                let isClient = frame["executor"]?.stringValue == "client"
                callsReceived[callId] = (at, isClient)
                if isClient, let invocationId {
                    let value = frame["arguments"]?["value"] ?? .null
                    try await send(["type": "tool_result", "invocation_id": .string(invocationId), "call_id": .string(callId),
                                    "output": ["echo": value]])
                }
            case "tool_result":
                trace.toolResults += 1
                guard let callId = frame["call_id"]?.stringValue, let call = callsReceived[callId] else { continue }
                let elapsed = call.at.duration(to: at).benchMilliseconds
                trace.callToResult.append(elapsed)
                if call.client { trace.clientCallToResult.append(elapsed) } else { trace.serverCallToResult.append(elapsed) }
            case "agent_complete":
                trace.status = frame["status"]?.stringValue ?? "?"
                trace.finishedAt = at
                trace.duration = started.duration(to: at)
                return trace
            case "error":
                // Refused before it started (e.g. rate_limited): there will be no agent_complete.
                if invocationId == nil {
                    trace.status = "error: " + (frame["code"]?.stringValue ?? "?")
                    trace.finishedAt = at
                    trace.duration = started.duration(to: at)
                    return trace
                }
            default:
                continue
            }
        }
    }
}

/// Waits until `count` distinct participants have arrived.
final class Latch: Sendable {
    private let state: Mutex<(arrived: Set<Int>, waiters: [CheckedContinuation<Void, Never>])>
    private let count: Int

    init(count: Int) {
        self.count = count
        state = Mutex(([], []))
    }

    /// Records `participant` (again is harmless) and releases the waiters when all have arrived.
    func arrive(_ participant: Int) {
        let released = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.arrived.insert(participant)
            guard state.arrived.count >= count else { return [] }
            defer { state.waiters.removeAll() }
            return state.waiters
        }
        for waiter in released { waiter.resume() }
    }

    func wait() async {
        await withCheckedContinuation { continuation in
            let done = state.withLock { state -> Bool in
                if state.arrived.count >= count { return true }
                state.waiters.append(continuation)
                return false
            }
            if done { continuation.resume() }
        }
    }
}
