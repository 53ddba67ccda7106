import AgentHost
import AgentHostTesting
import AsyncHTTPClient
import ChatBridge
import Foundation
import Tools
import Logging
import NIOCore
import NIOPosix
import Synchronization
import WSClient

/// `agenthost-bench rooms`: `ws/chat` at scale, against a separate `agenthost serve` process so its
/// memory is measured alone.
///
/// 1. Idle connections: RSS of the server with N open, idle `ws/chat` connections.
/// 2. Fan-out: one generation streamed to a room of M members; per token, the time from the fake
///    upstream writing it to the last (M-th) member receiving it; and frames per second delivered.
///    Upstream tokens carry the monotonic clock at the moment they are written; the clients run in
///    this process, so the clocks agree.
struct RoomBenchmark {
    var idleConnections = 10_000
    var roomSize = 100
    var tokens = 500
    var tokenInterval: Duration = .milliseconds(2)

    func run() async throws {
        let logger = {
            var logger = Logger(label: "bench")
            logger.logLevel = .critical
            return logger
        }()
        let tokenCount = tokens, interval = tokenInterval
        let upstream = FakeUpstream(fallback: { _ in
            var parts: [UpstreamScript.Part] = [VendorStream.openAIChunk(delta: ["role": "assistant", "content": ""])]
            for _ in 0..<tokenCount {
                parts.append(.generated {
                    let chunk: JSONValue = ["choices": [["index": 0, "delta": ["content": .string("\(RoomBenchmark.nowNanos()) ")],
                                                         "finish_reason": .null]]]
                    return "data: \(chunk.serializedString)\n\n"
                })
                parts.append(.pause(interval))
            }
            parts.append(VendorStream.openAIChunk(delta: [:], finishReason: "stop"))
            parts.append(.bytes("data: [DONE]\n\n"))
            return UpstreamScript(parts: parts)
        }, retainBody: { _ in .null })
        try await FakeUpstream.run(upstream) { upstream in
            let server = try await BenchServer.start(upstreamURL: await upstream.baseURL + "/v1")
            defer { server.stop() }
            try await server.createWorkspace("idle")
            try await server.createWorkspace("room")
            print("ws/chat benchmark: server is a separate process (pid \(server.pid)); clients and fake upstream share this one.")
            print("server RSS at start: \(BenchServer.megabytes(server.rss()))")
            try await measureIdle(server: server, logger: logger)
            try await measureFanOut(server: server, logger: logger)
        }
    }

    static func nowNanos() -> Int64 {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return Int64(time.tv_sec) * 1_000_000_000 + Int64(time.tv_nsec)
    }

    // MARK: Idle connections

    private func measureIdle(server: BenchServer, logger: Logger) async throws {
        let before = server.rss()
        let connected = SharedValue(0)
        let release = OneShot<Bool>()
        let start = ContinuousClock.now
        try await withThrowingTaskGroup(of: Void.self) { group in
            // However this ends, the clients let go, so the group can finish.
            defer { release.set(true) }
            for index in 0..<idleConnections {
                group.addTask {
                    try await WebSocketClient.connect(url: "ws://127.0.0.1:\(server.port)/ws/chat/idle/", logger: logger) { inbound, _, _ in
                        var frames = inbound.messages(maxSize: 1 << 20).makeAsyncIterator()
                        _ = try await frames.next()  // `connected`
                        connected.withLock { $0 += 1 }
                        _ = await release.value
                    }
                }
                // Pace connection setup a little so the listen backlog is not overrun.
                if index % 200 == 199 { try await Task.sleep(for: .milliseconds(20)) }
            }
            while connected.withLock({ $0 }) < idleConnections {
                if start.duration(to: .now) > .seconds(120) { break }
                try await Task.sleep(for: .milliseconds(100))
            }
            let open = connected.withLock { $0 }
            let setup = start.duration(to: .now)
            try await Task.sleep(for: .seconds(1))
            let after = server.rss()
            print("idle connections: \(open) open in \(String(format: "%.1f", setup.milliseconds / 1000)) s; server RSS "
                  + "\(BenchServer.megabytes(after)) total (target < 200 MB), +\(BenchServer.megabytes(after - before)) for the connections, "
                  + "\(String(format: "%.1f", Double(after - before) / Double(max(open, 1)) / 1024)) KB each")
            release.set(true)
            try await group.waitForAll()
        }
    }

    // MARK: Fan-out

    private func measureFanOut(server: BenchServer, logger: Logger) async throws {
        let members = roomSize
        // Receipt times per member: [token send time: receive time].
        let receipts = SharedValue([[Int64]](repeating: [], count: members))
        let framesReceived = SharedValue(0)
        let joined = SharedValue(0)
        let firstAndLast = SharedValue<[Int64]>([Int64.max, 0])
        try await withThrowingTaskGroup(of: Void.self) { group in
            for member in 0..<members {
                group.addTask {
                    try await WebSocketClient.connect(url: "ws://127.0.0.1:\(server.port)/ws/chat/room/",
                                                      configuration: .init(maxFrameSize: 1 << 24), logger: logger) { inbound, outbound, _ in
                        var frames = inbound.messages(maxSize: 1 << 24).makeAsyncIterator()
                        _ = try await frames.next()
                        joined.withLock { $0 += 1 }
                        if member == 0 {
                            while joined.withLock({ $0 }) < members { try await Task.sleep(for: .milliseconds(10)) }
                            try await outbound.write(.text(#"{"type":"chat","message":"fan out"}"#))
                        }
                        var mine: [Int64] = []
                        while let message = try await frames.next() {
                            guard case .text(let text) = message else { continue }
                            let now = RoomBenchmark.nowNanos()
                            framesReceived.withLock { $0 += 1 }
                            firstAndLast.withLock { $0 = [min($0[0], now), max($0[1], now)] }
                            if text.contains("\"chat_complete\"") { break }
                            // The token is "<send nanos> "; latency = now - send.
                            if let range = text.range(of: #""token":""#) {
                                let digits = text[range.upperBound...].prefix { $0.isNumber }
                                if let sent = Int64(digits) { mine.append(now - sent) }
                            }
                        }
                        receipts.withLock { $0[member] = mine }
                        try await outbound.close(.normalClosure, reason: nil)
                    }
                }
            }
            try await group.waitForAll()
        }
        let all = receipts.withLock { $0 }
        let tokenCount = all.map(\.count).min() ?? 0
        // Per token: when the last member got it.
        let slowest = (0..<tokenCount).map { index in all.map { $0[index] }.max() ?? 0 }
        let everyone = all.flatMap { $0 }
        let total = framesReceived.withLock { $0 }
        let bounds = firstAndLast.withLock { $0 }
        let (first, last) = (bounds[0], bounds[1])
        let seconds = Double(last - first) / 1e9
        print("fan-out to \(members) members, \(tokenCount) tokens (one every \(tokenInterval)):")
        print("  upstream write -> \(members)th member: p50 \(Self.ms(Stats.percentile(slowest, 0.5))) ms, "
              + "p99 \(Self.ms(Stats.percentile(slowest, 0.99))) ms")
        print("  upstream write -> any member:         p50 \(Self.ms(Stats.percentile(everyone, 0.5))) ms, "
              + "p99 \(Self.ms(Stats.percentile(everyone, 0.99))) ms")
        print("  frames delivered: \(total) in \(String(format: "%.2f", seconds)) s = \(Int(Double(total) / max(seconds, 1e-9))) frames/s "
              + "(paced by the upstream's token interval)")
        print("server RSS after: \(BenchServer.megabytes(server.rss()))")
    }

    static func ms(_ nanos: Int64) -> String { String(format: "%.3f", Double(nanos) / 1e6) }
}

/// Nearest-rank percentiles of integer samples.
enum Stats {
    static func percentile(_ values: [Int64], _ fraction: Double) -> Int64 {
        guard !values.isEmpty else { return 0 }
        let sorted = values.sorted()
        let rank = Int((fraction * Double(sorted.count)).rounded(.up)) - 1
        return sorted[max(0, min(sorted.count - 1, rank))]
    }
}

/// `agenthost serve` as a child process with a temporary data directory, for benchmarks that measure its memory.
final class BenchServer: Sendable {
    let process: Process
    let port: Int
    let directory: URL
    var pid: Int32 { process.processIdentifier }

    private init(process: Process, port: Int, directory: URL) {
        self.process = process
        self.port = port
        self.directory = directory
    }

    /// Starts `agenthost serve` with the fake upstream as its model; `arguments` are added (a
    /// `--database-url`, say).
    static func start(upstreamURL: String, arguments extra: [String] = []) async throws -> BenchServer {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("agenthost-bench-\(UUID())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let port = try LoopbackPort.free()
        let process = Process()
        process.executableURL = try ServerExecutable.sibling()
        var arguments = ["serve", "--port", "\(port)", "--data-dir", directory.path, "--log-level", "error",
                         "--llm-provider", "openai", "--llm-base-url", upstreamURL, "--llm-model", "fake"]
        if let schemas = ToolRegistry.locateSchemaDirectory(explicit: nil) { arguments += ["--tool-schemas", schemas.path] }
        process.arguments = arguments + extra
        try process.run()
        let server = BenchServer(process: process, port: port, directory: directory)
        for _ in 0..<200 {
            if (try? await server.request("GET", "/api/health")) != nil { return server }
            try await Task.sleep(for: .milliseconds(50))
        }
        server.stop()
        throw ConfigurationError("The benchmark server did not start on port \(port).")
    }

    func stop() {
        if process.isRunning {
            process.terminate()
            process.waitUntilExit()
        }
        try? FileManager.default.removeItem(at: directory)
    }

    func createWorkspace(_ name: String) async throws {
        _ = try await request("POST", "/api/workspaces", body: #"{"name": "\#(name)"}"#)
    }

    /// Resident set size of the server, in bytes.
    func rss() -> Int {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }),
              let kilobytes = Int(line.split(separator: " ").dropFirst().first ?? "")
        else { return 0 }
        return kilobytes * 1024
    }

    static func megabytes(_ bytes: Int) -> String { String(format: "%.1f MB", Double(bytes) / 1_048_576) }

    /// Sends a request with a JSON body; fails on an error status.
    @discardableResult
    func request(_ method: String, _ path: String, body: String? = nil) async throws -> Data {
        var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)\(path)")
        request.method = .init(rawValue: method)
        if let body {
            request.body = .bytes(ByteBuffer(string: body))
            request.headers.add(name: "content-type", value: "application/json")
        }
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(10))
        let bytes = try await response.body.collect(upTo: 1 << 20)
        guard response.status.code < 300 else { throw ConfigurationError("\(method) \(path) failed with \(response.status.code)") }
        return Data(buffer: bytes)
    }
}


/// A value shared by concurrent tasks, behind a lock.
final class SharedValue<Value: Sendable>: Sendable {
    private let mutex: Mutex<Value>

    init(_ value: Value) {
        mutex = Mutex(value)
    }

    func withLock<Result: Sendable>(_ body: (inout Value) -> Result) -> Result {
        mutex.withLock { value in body(&value) }
    }
}
