import AgentHost
import AgentHostTesting
import ChatBridge
import Foundation
import HummingbirdWSClient
import Logging
import NIOCore
import Synchronization

/// `agenthost-bench agent`: what the invocation engine adds per tool step, over `ws/agent/{slug}/`,
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

    /// The plan message of a chat-completions request (the last user message that is a plan) and how many
    /// tool results follow it. A tool result is a `tool` message, or, when the model's tools are prompted
    /// (Hermes format, the workspace default for an unknown model), a user message holding `<tool_response>`.
    /// Looking for the plan rather than for the last user message matters: in the prompted format every tool
    /// result is itself a user message.
    static func progress(of body: JSONValue) -> (message: String, toolResults: Int)? {
        guard let messages = body["messages"]?.arrayValue,
              let planIndex = messages.lastIndex(where: { message in
                  message["role"]?.stringValue == "user" && message["content"]?.stringValue.flatMap(Plan.init(message:)) != nil
              }),
              let message = messages[planIndex]["content"]?.stringValue else { return nil }
        let toolResults = messages[(planIndex + 1)...].filter(isToolResult).count
        return (message, toolResults)
    }

    private static func isToolResult(_ message: JSONValue) -> Bool {
        switch message["role"]?.stringValue {
        case "tool": true
        case "user": message["content"]?.stringValue?.hasPrefix(toolResponseTag) == true
        default: false
        }
    }

    private static let toolResponseTag = "<tool_response>"

    /// The part of a chat-completions body the scripted model reads (the plan message and the tool results
    /// after it), found by scanning AgentHost's serialization (compact, sorted keys: `{"content":…,"role":…}`)
    /// instead of parsing it all: parsing every growing request would be the fake's cost, not AgentHost's.
    /// Falls back to a full parse when the body does not look as expected.
    static func reducedRequest(_ buffer: ByteBuffer) -> JSONValue {
        let bytes = Array(buffer.readableBytesView)
        func fullParse() -> JSONValue { (try? JSONValue(parsing: bytes)) ?? .null }
        let planMarker = Array(#"{"content":"bench "#.utf8)
        let userEnd = Array(#"","role":"user"}"#.utf8)
        guard let planAt = lastIndex(of: planMarker, in: bytes, before: bytes.count),
              let textEnd = firstIndex(of: userEnd, in: bytes, from: planAt + planMarker.count) else { return fullParse() }
        let textStart = planAt + #"{"content":""#.utf8.count
        let text = bytes[textStart..<textEnd]
        guard !text.contains(UInt8(ascii: "\\")), !text.contains(UInt8(ascii: "\"")),
              Plan(message: String(decoding: text, as: UTF8.self)) != nil else { return fullParse() }
        var toolResults = 0
        for marker in [Array(#""role":"tool""#.utf8), Array(#"{"content":"\#(toolResponseTag)"#.utf8)] {
            var index = textEnd + userEnd.count
            while let found = firstIndex(of: marker, in: bytes, from: index) {
                toolResults += 1
                index = found + marker.count
            }
        }
        let user: JSONValue = ["role": "user", "content": .string(String(decoding: text, as: UTF8.self))]
        return ["messages": .array([user] + Array(repeating: ["role": "tool"], count: toolResults))]
    }

    private static func firstIndex(of pattern: [UInt8], in bytes: [UInt8], from start: Int) -> Int? {
        guard pattern.count <= bytes.count, start <= bytes.count - pattern.count else { return nil }
        var index = start
        while index <= bytes.count - pattern.count {
            if bytes[index] == pattern[0], bytes[index..<(index + pattern.count)].elementsEqual(pattern) { return index }
            index += 1
        }
        return nil
    }

    private static func lastIndex(of pattern: [UInt8], in bytes: [UInt8], before end: Int) -> Int? {
        var index = min(end, bytes.count) - pattern.count
        while index >= 0 {
            if bytes[index] == pattern[0], bytes[index..<(index + pattern.count)].elementsEqual(pattern) { return index }
            index -= 1
        }
        return nil
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
                                    retainBody: { body in Self.progress(of: body).map { .string($0.message) } ?? .null },
                                    parseBody: { Self.reducedRequest($0) })
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
            for (label, result) in [("(a) server tool", server), ("(b) client tool", client)] {
                add("\(label): tool_call -> tool_result frame at client", result.callToResult)
                add("\(label): engine step gap at upstream", result.timeline.stepGaps)
                if label == "(a) server tool" {
                    add("\(label):   of which the tool's own run (stored durationMs)", result.toolRuns)
                    add("\(label):   step gap minus the tool's run = engine overhead per step", result.stepOverheads)
                }
                add("\(label): invocation duration at client", result.durations)
                add("\(label):   of which agent_invoke sent -> 1st upstream request", result.timeline.startOverhead)
                add("\(label):   of which inside the upstream (request -> response end)", result.timeline.upstreamTime)
                add("\(label):   of which last upstream response end -> agent_complete", result.timeline.finishOverhead)
                add("\(label): process CPU time per invocation (all threads)", result.cpu)
            }
            let storeWrite = try await measureStepWrite(environment: environment, invocationId: client.lastInvocationId)
            add("awaited step write alone (InvocationStore.recordStep, 200x sequential)", storeWrite)
            table.print()
            print("Engine step gap = end of one upstream response -> arrival of the same invocation's next upstream request "
                  + "(read the stream's end, record the model step, validate, run or send the tool, record its result, "
                  + "build and send the next request). Steps are stored with the run log's batches; a step awaits no write.")
            print("Target: < \(BenchFormat.ms(Self.targetServerStep)) ms added per server-tool step, p50 -> engine overhead per step p50 "
                  + "\(BenchFormat.ms(server.stepOverheads.p50)) ms: \(BenchFormat.verdict(server.stepOverheads.p50 < Self.targetServerStep)) "
                  + "(step gap with the tool's run p50 \(BenchFormat.ms(server.timeline.stepGaps.p50)) ms)")
            print("Target: < \(BenchFormat.ms(Self.targetClientRoundTrip)) ms per client-tool round trip, p50 -> round trip p50 "
                  + "\(BenchFormat.ms(client.callToResult.p50)) ms: \(BenchFormat.verdict(client.callToResult.p50 < Self.targetClientRoundTrip)); "
                  + "step gap p50 \(BenchFormat.ms(client.timeline.stepGaps.p50)) ms: \(BenchFormat.verdict(client.timeline.stepGaps.p50 < Self.targetClientRoundTrip))")
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
        var timeline = Timeline()
        var durations = Samples()
        /// Process CPU milliseconds (all threads) per invocation.
        var cpu = Samples()
        var failures = 0
        var traces: [String: InvocationTrace] = [:]
        /// Server tools only: the tool's own run time as the engine stored it, and the step gap minus it.
        var toolRuns = Samples()
        var stepOverheads = Samples()
        var lastInvocationId: String?
    }

    private func sequential(_ tools: Plan.Tools, environment: BenchEnvironment) async throws -> SequentialResult {
        let phase = "seq\(tools.rawValue)"
        let outcome = LockedBox(SequentialResult())
        let total = options.warmup + options.invocations
        let warmup = options.warmup
        try await AgentConnection.connect(environment) { connection in
            for index in 0..<total {
                let plan = Plan(tools: tools, calls: 1, id: "\(phase)-\(index)")
                let cpuBefore = ProcessCPU.seconds
                let trace = try await connection.invoke(plan)
                let cpu = (ProcessCPU.seconds - cpuBefore) * 1000
                guard index >= warmup else { continue }
                outcome.withLock { result in
                    result.cpu.append(cpu)
                    if trace.status != "completed" || trace.toolResults != plan.calls { result.failures += 1 }
                    for value in trace.callToResult { result.callToResult.append(value) }
                    result.durations.append(trace.duration.milliseconds)
                    result.traces[plan.message] = trace
                    result.lastInvocationId = trace.invocationId ?? result.lastInvocationId
                }
            }
        }
        var result = outcome.value
        result.timeline = await Self.timeline(upstream: environment.upstream, traces: result.traces)
        if tools == .server {
            (result.toolRuns, result.stepOverheads) = try await Self.serverStepOverheads(
                timeline: result.timeline, traces: result.traces, store: environment.dependencies.invocations)
        }
        return result
    }

    /// Each server-tool step's gap at the upstream minus the tool's own run time (the `durationMs` the engine
    /// stored for the tool step): what the engine itself adds to a step. The n-th gap of an invocation is the
    /// step that ran its n-th tool call.
    static func serverStepOverheads(timeline: Timeline, traces: [String: InvocationTrace],
                                    store: any InvocationStore) async throws -> (toolRuns: Samples, overheads: Samples) {
        var toolRuns = Samples()
        var overheads = Samples()
        for (message, gaps) in timeline.gapsByInvocation {
            guard let id = traces[message]?.invocationId,
                  let (_, steps) = try await store.invocation(id: id, viewer: .singleUser) else { continue }
            let runs = steps.filter { $0.kind == .tool && $0.executor == "server" }.sorted { $0.step < $1.step }.map { $0.durationMs }
            for (gap, run) in zip(gaps, runs) {
                guard let run else { continue }
                toolRuns.append(run)
                overheads.append(gap - run)
            }
        }
        return (toolRuns, overheads)
    }

    /// Latency of the write the engine awaits after every model step and tool call, measured alone on the same store.
    private func measureStepWrite(environment: BenchEnvironment, invocationId: String?) async throws -> Samples {
        guard let invocationId else { return Samples() }
        var samples = Samples()
        for index in 0..<200 {
            let step = AgentStep(invocationId: invocationId, step: 100 + index, kind: .tool, callId: "bench_\(index)",
                                 name: "calculator", executor: "server", arguments: ["expression": "2+3*4"], output: ["result": 14],
                                 isError: false, startedAt: Date(), durationMs: 0.05)
            let started = ContinuousClock.now
            try await environment.dependencies.invocations.recordStep(step)
            samples.append(started.duration(to: .now).milliseconds)
        }
        return samples
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
        let cpuStart = LockedBox(0.0)
        let cpuEnd = LockedBox(0.0)

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
            cpuStart.withLock { $0 = ProcessCPU.seconds }
            go.set(started)
            try await group.waitForAll()
            cpuEnd.withLock { $0 = ProcessCPU.seconds }
            let finished = traces.withLock { $0.map(\.finishedAt) }.max() ?? started
            return started.duration(to: finished)
        }
        let cpu = cpuEnd.value - cpuStart.value

        let all = traces.withLock { $0 }
        let completed = all.filter { $0.status == "completed" && $0.toolResults == options.calls }
        let toolCalls = all.reduce(0) { $0 + $1.toolResults }
        var durations = Samples()
        var callToResult = Samples()
        var serverCalls = Samples()
        var clientCalls = Samples()
        for trace in all {
            durations.append(trace.duration.milliseconds)
            for value in trace.callToResult { callToResult.append(value) }
            for value in trace.serverCallToResult { serverCalls.append(value) }
            for value in trace.clientCallToResult { clientCalls.append(value) }
        }
        var traceByMessage: [String: InvocationTrace] = [:]
        for trace in all { traceByMessage[trace.message] = trace }
        let timeline = await Self.timeline(upstream: environment.upstream, traces: traceByMessage)
        let gaps = timeline.stepGaps
        // The n-th gap of an invocation is the step that ran its n-th tool call; split them by where it ran.
        var serverGaps = Samples()
        var clientGaps = Samples()
        for plan in plans {
            for (done, gap) in (timeline.gapsByInvocation[plan.message] ?? []).enumerated() where done < plan.calls {
                if plan.callsServerTool(after: done) { serverGaps.append(gap) } else { clientGaps.append(gap) }
            }
        }

        var summary = BenchTable("(c) \(count) concurrent invocations (one WebSocket each) x \(options.calls) sequential tool calls (\(options.mix.rawValue))",
                                 header: ["metric", "value"])
        summary.add(["wall time (first agent_invoke -> last agent_complete)", String(format: "%.3f s", wall.seconds)])
        summary.add(["invocations completed / started", "\(completed.count) / \(count)"])
        summary.add(["tool calls completed", "\(toolCalls)"])
        summary.add(["tool calls/s", BenchFormat.number(Double(toolCalls) / wall.seconds)])
        summary.add(["model steps/s (upstream requests)", BenchFormat.number(Double(gaps.count + all.count) / wall.seconds)])
        summary.add(["cores busy (process CPU time / wall time)", String(format: "%.2f", cpu / wall.seconds)])
        summary.add(["process CPU per tool call (clients + AgentHost + upstream)",
                     String(format: "%.3f ms", cpu * 1000 / Double(max(toolCalls, 1)))])
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
        add("engine step gap at upstream, all steps", gaps)
        if tools == .mixed { add("engine step gap at upstream, server-tool steps (incl. the tool's run)", serverGaps) }
        add("engine step gap at upstream, client-tool steps (incl. the client's round trip)", clientGaps)
        add("agent_invoke sent -> 1st upstream request", timeline.startOverhead)
        add("inside the upstream (request -> response end)", timeline.upstreamTime)
        add("last upstream response end -> agent_complete", timeline.finishOverhead)
        if tools == .mixed { add("server tool: tool_call -> tool_result frame", serverCalls) }
        add("client tool: tool_call recv -> tool_result recv", clientCalls)
        latencies.print()
    }

    // MARK: Upstream timing

    /// Where an invocation's time went, from the upstream's timestamps and the client's.
    struct Timeline: Sendable {
        /// End of one upstream response -> arrival of the same invocation's next request.
        var stepGaps = Samples()
        /// The same gaps by invocation (plan message), in step order.
        var gapsByInvocation: [String: [Double]] = [:]
        /// `agent_invoke` sent -> first upstream request arrived.
        var startOverhead = Samples()
        /// Request arrived -> response written out, for every upstream exchange.
        var upstreamTime = Samples()
        /// Last upstream response written out -> `agent_complete` received.
        var finishOverhead = Samples()
    }

    /// Groups the upstream's exchanges by invocation (plan message) and splits each traced invocation's time.
    static func timeline(upstream: FakeUpstream, traces: [String: InvocationTrace]) async -> Timeline {
        let exchanges = await upstream.exchanges
        var byInvocation: [String: [FakeUpstream.Exchange]] = [:]
        for exchange in exchanges {
            guard let message = exchange.body.stringValue, traces[message] != nil else { continue }
            byInvocation[message, default: []].append(exchange)
        }
        var timeline = Timeline()
        for (message, steps) in byInvocation {
            let ordered = steps.sorted { $0.receivedAt < $1.receivedAt }
            for (previous, next) in zip(ordered, ordered.dropFirst()) {
                guard let ended = previous.endedAt else { continue }
                let gap = ended.duration(to: next.receivedAt).milliseconds
                timeline.stepGaps.append(gap)
                timeline.gapsByInvocation[message, default: []].append(gap)
            }
            for exchange in ordered {
                guard let ended = exchange.endedAt else { continue }
                timeline.upstreamTime.append(exchange.receivedAt.duration(to: ended).milliseconds)
            }
            guard let trace = traces[message], let first = ordered.first, let lastEnd = ordered.last?.endedAt else { continue }
            timeline.startOverhead.append(trace.sentAt.duration(to: first.receivedAt).milliseconds)
            timeline.finishOverhead.append(lastEnd.duration(to: trace.finishedAt).milliseconds)
        }
        return timeline
    }
}

// MARK: Client side

/// What the client saw of one invocation.
struct InvocationTrace: Sendable {
    /// The plan message the invocation was started with (its key at the upstream).
    var message = ""
    var invocationId: String?
    var sentAt: ContinuousClock.Instant = .now
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
        var trace = InvocationTrace(message: plan.message)
        var invocationId: String?
        var callsReceived: [String: (at: ContinuousClock.Instant, client: Bool)] = [:]
        let started = ContinuousClock.now
        trace.sentAt = started
        try await send(.object(invoke))
        while true {
            let (frame, at) = try await next()
            let type = frame["type"]?.stringValue
            if invocationId == nil, type == "agent_start", frame["request_id"]?.stringValue == plan.id {
                invocationId = frame["invocation_id"]?.stringValue
                trace.invocationId = invocationId
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
                let elapsed = call.at.duration(to: at).milliseconds
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
