import AgentHost
import AgentHostTesting
import AsyncHTTPClient
import ChatBridge
import Foundation
import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import ServiceLifecycle
import Synchronization
import Tools

// MARK: Statistics

/// A set of measurements in milliseconds, with nearest-rank percentiles.
struct Samples: Sendable {
    private(set) var values: [Double] = []
    private var isSorted = true

    init(_ values: [Double] = []) {
        self.values = values.sorted()
    }

    mutating func append(_ value: Double) {
        if let last = values.last, value < last { isSorted = false }
        values.append(value)
    }

    mutating func append(contentsOf other: Samples) {
        values += other.values
        isSorted = false
    }

    var count: Int { values.count }

    private var sortedValues: [Double] { isSorted ? values : values.sorted() }

    /// The nearest-rank percentile (`p` from 0 to 100); `nan` without samples.
    func percentile(_ p: Double) -> Double {
        let sorted = sortedValues
        guard !sorted.isEmpty else { return .nan }
        let rank = Int((p / 100 * Double(sorted.count)).rounded(.up))
        return sorted[Swift.min(Swift.max(rank - 1, 0), sorted.count - 1)]
    }

    var p50: Double { percentile(50) }
    var p99: Double { percentile(99) }
    var min: Double { sortedValues.first ?? .nan }
    var max: Double { sortedValues.last ?? .nan }
    var mean: Double { values.isEmpty ? .nan : values.reduce(0, +) / Double(values.count) }
}

extension Duration {
    /// Fractional seconds (``milliseconds``, from ChatBridge, is the bench's unit for latencies).
    var seconds: Double { milliseconds / 1000 }
}

// MARK: CPU

/// CPU time the whole process has used (user + system, every thread), from `CLOCK_PROCESS_CPUTIME_ID`.
enum ProcessCPU {
    static var seconds: Double {
        var time = timespec()
        guard clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &time) == 0 else { return .nan }
        return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
    }
}

/// TCP counters of the kernel (`/proc/net/netstat`, Linux), to spot connection storms.
enum KernelCounters {
    /// Connections the kernel dropped because a listen backlog (accept queue) was full; each one makes
    /// its client retransmit after a second or more.
    static var listenOverflows: Int? { tcpExt("ListenOverflows") }

    private static func tcpExt(_ name: String) -> Int? {
        guard let text = try? String(contentsOfFile: "/proc/net/netstat", encoding: .utf8) else { return nil }
        let lines = text.split(separator: "\n").filter { $0.hasPrefix("TcpExt:") }
        guard lines.count >= 2 else { return nil }
        let names = lines[0].split(separator: " ")
        let values = lines[1].split(separator: " ")
        guard let index = names.firstIndex(where: { $0 == name }), index < values.count else { return nil }
        return Int(values[index])
    }
}

// MARK: Output

/// A plain text table with right-aligned numeric columns.
struct BenchTable {
    var title: String
    var header: [String]
    var rows: [[String]] = []

    init(_ title: String, header: [String]) {
        self.title = title
        self.header = header
    }

    mutating func add(_ row: [String]) {
        rows.append(row)
    }

    func render() -> String {
        let all = [header] + rows
        let columns = all.map(\.count).max() ?? 0
        var widths = [Int](repeating: 0, count: columns)
        for row in all {
            for (index, cell) in row.enumerated() { widths[index] = Swift.max(widths[index], cell.count) }
        }
        func line(_ row: [String]) -> String {
            row.enumerated().map { index, cell in
                let pad = String(repeating: " ", count: widths[index] - cell.count)
                return index == 0 ? cell + pad : pad + cell
            }.joined(separator: "  ")
        }
        var text = title + "\n"
        text += line(header) + "\n"
        text += widths.map { String(repeating: "-", count: $0) }.joined(separator: "  ") + "\n"
        for row in rows { text += line(row) + "\n" }
        return text
    }

    func print() {
        Swift.print(render())
    }
}

enum BenchFormat {
    /// Milliseconds with three decimals (microsecond resolution).
    static func ms(_ value: Double) -> String {
        value.isNaN ? "n/a" : String(format: "%.3f", value)
    }

    static func number(_ value: Double, decimals: Int = 0) -> String {
        guard value.isFinite else { return "n/a" }
        let text = String(format: "%.\(decimals)f", value)
        // Thousands separators on the integer part.
        let parts = text.split(separator: ".", maxSplits: 1)
        var digits = Array(parts[0])
        let negative = digits.first == "-"
        if negative { digits.removeFirst() }
        var grouped = ""
        for (index, digit) in digits.enumerated() {
            if index > 0, (digits.count - index) % 3 == 0 { grouped.append(",") }
            grouped.append(digit)
        }
        return (negative ? "-" : "") + grouped + (parts.count > 1 ? "." + parts[1] : "")
    }

    /// `met` / `MISSED` against a target, for printing next to results (never an assertion).
    static func verdict(_ met: Bool) -> String { met ? "met" : "MISSED" }

    /// What every report says about the measurement setup.
    static func environmentNote() -> String {
        var build = "release"
        #if DEBUG
        build = "DEBUG (numbers are not representative; build with -c release)"
        #endif
        let load = (try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8))
            .map { $0.split(separator: " ").prefix(3).joined(separator: " ") } ?? "n/a"
        return """
            Setup: clients, AgentHost and the fake upstream share ONE process and \(ProcessInfo.processInfo.activeProcessorCount) \
            core(s) (build: \(build)); every hop is a real loopback TCP connection. Numbers include the clients' own CPU cost.
            Machine load average at start: \(load) (other processes compete for the same cores; CPU-time columns are \
            less sensitive to that than latencies).
            """
    }
}

// MARK: Byte patterns

/// Counts occurrences of a byte pattern in a stream that arrives in arbitrary pieces (KMP), cheaply
/// enough that clients measuring throughput do not parse JSON.
struct PatternCounter: Sendable {
    private let pattern: [UInt8]
    private let failure: [Int]
    private var matched = 0
    private(set) var count = 0

    init(_ pattern: String) {
        self.pattern = Array(pattern.utf8)
        var failure = [Int](repeating: 0, count: self.pattern.count)
        var k = 0
        for index in 1..<Swift.max(self.pattern.count, 1) {
            while k > 0, self.pattern[index] != self.pattern[k] { k = failure[k - 1] }
            if self.pattern[index] == self.pattern[k] { k += 1 }
            failure[index] = k
        }
        self.failure = failure
    }

    /// Consumes `bytes`; returns how many occurrences they completed.
    @discardableResult
    mutating func consume(_ bytes: ByteBuffer) -> Int {
        let before = count
        bytes.withUnsafeReadableBytes { raw in
            for byte in raw {
                while matched > 0, pattern[matched] != byte { matched = failure[matched - 1] }
                if pattern[matched] == byte { matched += 1 }
                if matched == pattern.count {
                    count += 1
                    matched = failure[matched - 1]
                }
            }
        }
        return count - before
    }
}

// MARK: Running AgentHost in-process

/// Wraps the application from ``buildApplication(configuration:dependencies:logger:services:)`` to
/// learn the port it bound (the configuration asks for port 0).
struct PortReportingApplication<Base: ApplicationProtocol>: ApplicationProtocol {
    typealias Responder = Base.Responder

    let base: Base
    let bound: @Sendable (Int) -> Void

    var responder: Responder {
        get async throws { try await base.responder }
    }

    var server: HTTPServerBuilder { base.server }
    var eventLoopGroup: any EventLoopGroup { base.eventLoopGroup }
    var configuration: ApplicationConfiguration { base.configuration }
    var logger: Logger { base.logger }
    var services: [any Service] { base.services }
    var processesRunBeforeServerStart: [@Sendable () async throws -> Void] { base.processesRunBeforeServerStart }

    @Sendable func onServerRunning(_ channel: any Channel) async {
        await base.onServerRunning(channel)
        bound(channel.localAddress?.port ?? 0)
    }
}

/// A value set once and awaited by anyone.
final class OneShot<Value: Sendable>: Sendable {
    private let state = Mutex<(value: Value?, waiters: [CheckedContinuation<Value, Never>])>((nil, []))

    func set(_ value: Value) {
        let waiters = state.withLock { state -> [CheckedContinuation<Value, Never>] in
            guard state.value == nil else { return [] }
            state.value = value
            defer { state.waiters.removeAll() }
            return state.waiters
        }
        for waiter in waiters { waiter.resume(returning: value) }
    }

    var value: Value {
        get async {
            await withCheckedContinuation { continuation in
                let ready = state.withLock { state -> Value? in
                    if let value = state.value { return value }
                    state.waiters.append(continuation)
                    return nil
                }
                if let ready { continuation.resume(returning: ready) }
            }
        }
    }
}

/// A zero-delay fake upstream and a real AgentHost over a temporary SQLite database, on loopback,
/// in single-user mode, with one workspace.
struct BenchEnvironment: Sendable {
    let upstream: FakeUpstream
    let upstreamPort: Int
    let port: Int
    let workspace: Workspace
    let dependencies: Dependencies
    let dataDirectory: URL

    var upstreamURL: String { "http://127.0.0.1:\(upstreamPort)" }
    var serverURL: String { "http://127.0.0.1:\(port)" }

    /// Starts everything, runs `body`, and shuts everything down (removing the database).
    static func run<Value: Sendable>(
        toolSchemas: String?, upstream: FakeUpstream,
        configure: @escaping @Sendable (inout Configuration) -> Void = { _ in },
        workspace configureWorkspace: @escaping @Sendable (inout Workspace) -> Void = { _ in },
        _ body: @escaping @Sendable (BenchEnvironment) async throws -> Value
    ) async throws -> Value {
        let logger = {
            var logger = Logger(label: "agenthost-bench")
            logger.logLevel = .warning
            return logger
        }()
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("agenthost-bench-\(UUID().uuidString.lowercased())", isDirectory: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let tools = try ToolRegistry.builtIn(schemaDirectory: toolSchemas)
        // AGENTHOST_BENCH_DATABASE_URL (a PostgreSQL server) measures the PostgreSQL backend: each run
        // gets a new database there. Otherwise a temporary SQLite file, as the server's default.
        guard let serverURL = ProcessInfo.processInfo.environment["AGENTHOST_BENCH_DATABASE_URL"] else {
            let database = try AppDatabase.openPool(directory: directory, logger: logger)
            return try await run(storage: .sqlite(database), directory: directory, tools: tools, logger: logger, upstream: upstream,
                                 configure: configure, workspace: configureWorkspace, body)
        }
        let name = "bench_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").prefix(16).lowercased()
        try await PostgresDatabase.withRunning(url: serverURL, maximumConnections: 1, logger: logger) { server in
            try await server.createDatabase(named: name)
        }
        guard var components = URLComponents(string: serverURL) else {
            throw PostgresStorageError("AGENTHOST_BENCH_DATABASE_URL is not a URL")
        }
        components.path = "/" + name
        let url = components.string ?? serverURL
        return try await PostgresDatabase.withRunning(url: url, maximumConnections: 40, logger: logger) { database in
            try await PostgresSchema.migrate(database)
            return try await run(storage: .postgres(database), directory: directory, tools: tools, logger: logger, upstream: upstream,
                                 configure: configure, workspace: configureWorkspace, body)
        }
    }

    private static func run<Value: Sendable>(
        storage: Storage, directory: URL, tools: ToolRegistry, logger: Logger, upstream: FakeUpstream,
        configure: @escaping @Sendable (inout Configuration) -> Void,
        workspace configureWorkspace: @escaping @Sendable (inout Workspace) -> Void,
        _ body: @escaping @Sendable (BenchEnvironment) async throws -> Value
    ) async throws -> Value {

        return try await FakeUpstream.run(upstream) { upstream in
            let upstreamPort = await upstream.boundPort()
            var configuration = Configuration()
            configuration.host = "127.0.0.1"
            configuration.port = 0
            configuration.dataDirectory = directory
            configuration.jwtSecret = "agenthost-bench-secret-that-is-long-enough-for-hs256"
            configuration.logLevel = .warning
            configuration.llm = ProviderSettings(
                kind: .openai, baseURL: "http://127.0.0.1:\(upstreamPort)/v1", apiKey: "bench", model: "fake-model",
                timeouts: .init(connect: .seconds(5), firstToken: .seconds(60), idle: .seconds(60)),
                retry: .init(maxRetries: 0))
            configure(&configuration)
            let client = Dependencies.makeHTTPClient(timeouts: configuration.llm.timeouts)
            do {
                let dependencies = Dependencies(storage: storage, httpClient: client, tools: tools)
                var settings = Workspace(name: "Bench", slug: "")
                configureWorkspace(&settings)
                let workspace = try await dependencies.chats.createWorkspace(settings)
                let port = OneShot<Int>()
                let app = PortReportingApplication(
                    base: try await buildApplication(configuration: configuration, dependencies: dependencies, logger: logger),
                    bound: { port.set($0) })
                let services = ServiceGroup(configuration: .init(services: [app], logger: logger))
                let value = try await withThrowingTaskGroup(of: Value?.self) { group in
                    group.addTask {
                        do {
                            try await services.run()
                        } catch {
                            port.set(0)  // wakes the body, which gives up
                            throw error
                        }
                        return nil
                    }
                    group.addTask {
                        let bound = await port.value
                        guard bound > 0 else { throw CancellationError() }
                        let environment = BenchEnvironment(
                            upstream: upstream, upstreamPort: upstreamPort, port: bound, workspace: workspace,
                            dependencies: dependencies, dataDirectory: directory)
                        do {
                            let value = try await body(environment)
                            await services.triggerGracefulShutdown()
                            return value
                        } catch {
                            await services.triggerGracefulShutdown()
                            throw error
                        }
                    }
                    var result: Value?
                    while let next = try await group.next() {
                        if let next { result = next }
                    }
                    guard let result else { throw CancellationError() }
                    return result
                }
                try await client.shutdown()
                return value
            } catch {
                try? await client.shutdown()
                throw error
            }
        }
    }
}

extension HTTPClient {
    /// A client for the bench's own requests, with room for `connections` concurrent streams per host.
    static func benchClient(connections: Int) -> HTTPClient {
        var configuration = HTTPClient.Configuration(timeout: .init(connect: .seconds(10), read: .seconds(120)))
        configuration.decompression = .disabled
        configuration.httpVersion = .http1Only
        configuration.connectionPool.concurrentHTTP1ConnectionsPerHostSoftLimit = Swift.max(connections, 8)
        configuration.connectionPool.idleTimeout = .seconds(300)
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }
}

/// A value shared between tasks behind a lock (a `Mutex` cannot be captured by escaping closures).
final class LockedBox<Value: Sendable>: Sendable {
    private let mutex: Mutex<Value>

    init(_ value: Value) {
        mutex = Mutex(value)
    }

    func withLock<Result: Sendable>(_ body: (inout Value) -> Result) -> Result {
        mutex.withLock { body(&$0) }
    }

    var value: Value { mutex.withLock { $0 } }
}

/// The server binary the process benchmarks start.
enum ServerExecutable {
    /// `agenthost`, which SwiftPM builds next to `agenthost-bench` (`swift build --product agenthost`).
    static func sibling() throws -> URL {
        let own = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        let server = own.deletingLastPathComponent().appendingPathComponent("agenthost")
        guard FileManager.default.isExecutableFile(atPath: server.path) else {
            throw ConfigurationError("This benchmark runs `agenthost serve` from \(server.path); build it first "
                                     + "(swift build -c release --product agenthost).")
        }
        return server
    }
}
