import AgentHostTesting
import AsyncHTTPClient
import ChatBridge
import Foundation
import NIOCore
import NIOHTTP1
import Testing

#if canImport(Glibc)
import Glibc
#endif

@testable import AgentHost

/// A real `agenthost serve` process (the executable `swift build --build-tests` builds next to the
/// tests), on a free loopback port and a data directory of the test's, for crash and signal tests.
final class ServerProcess: @unchecked Sendable {
    // `Process` is used from the test's task only; the class is shared with the test's child tasks
    // for `pid`, `port` and `baseURL`, which never change.
    let process: Process
    let port: Int
    let dataDirectory: URL
    let logFile: URL
    var pid: Int32 { process.processIdentifier }
    var baseURL: String { "http://127.0.0.1:\(port)" }

    static let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    /// `.build/debug/agenthost`, built with the tests.
    static var executable: URL { repositoryRoot.appendingPathComponent(".build/debug/agenthost") }

    /// A new empty data directory under the system's temporary directory.
    static func temporaryDataDirectory() throws -> URL {
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("agenthost-lifecycle-\(UUID().uuidString.prefix(8))", isDirectory: true)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        return directory
    }

    /// Starts the server with the OpenAI-compatible `upstream` as its model and waits until `/api/health` answers.
    /// `fileDescriptorLimit` runs it under that `RLIMIT_NOFILE` (soft and hard, with util-linux's `prlimit`).
    static func start(dataDirectory: URL, upstream: String, environment extra: [String: String] = [:],
                      fileDescriptorLimit: Int? = nil) async throws -> ServerProcess {
        let binary = executable
        try #require(FileManager.default.isExecutableFile(atPath: binary.path), "agenthost is built at \(binary.path)")
        let port = try LoopbackPort.free()
        let process = Process()
        process.executableURL = binary
        var prefix: [String] = []
        if let fileDescriptorLimit {
            process.executableURL = URL(fileURLWithPath: "/usr/bin/prlimit")
            prefix = ["--nofile=\(fileDescriptorLimit)", "--", binary.path]
        }
        process.arguments = prefix + ["serve", "--host", "127.0.0.1", "--port", "\(port)", "--data-dir", dataDirectory.path,
                             "--llm-provider", "openai", "--llm-base-url", upstream + "/v1", "--llm-model", "fake-model",
                             "--llm-idle-timeout", "30",
                             // The fake upstream is on loopback, which the queue would take for a one-slot local model.
                             "--llm-max-concurrency", "0",
                             "--tool-schemas", repositoryRoot.appendingPathComponent("tool-schemas").path]
        var environment = ["PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin", "AGENTHOST_LOG_LEVEL": "info"]
        for (key, value) in extra { environment[key] = value }
        process.environment = environment
        let logFile = dataDirectory.appendingPathComponent("server-\(port).log")
        FileManager.default.createFile(atPath: logFile.path, contents: nil)
        let log = try FileHandle(forWritingTo: logFile)
        process.standardOutput = log
        process.standardError = log
        try process.run()
        let server = ServerProcess(process: process, port: port, dataDirectory: dataDirectory, logFile: logFile)
        do {
            try await server.waitUntilHealthy()
        } catch {
            server.forceKill()
            throw error
        }
        return server
    }

    private init(process: Process, port: Int, dataDirectory: URL, logFile: URL) {
        self.process = process
        self.port = port
        self.dataDirectory = dataDirectory
        self.logFile = logFile
    }

    /// Polls `/api/health` for at most `timeout`.
    func waitUntilHealthy(timeout: Duration = .seconds(20)) async throws {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            guard process.isRunning else { throw ServerFailed(message: "the server exited at start:\n\(log)") }
            if let response = try? await TestHarness.httpClient.execute(HTTPClientRequest(url: baseURL + "/api/health"), timeout: .seconds(1)),
               response.status == .ok {
                return
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw ServerFailed(message: "the server did not answer /api/health within \(timeout):\n\(log)")
    }

    func send(signal: Int32) {
        kill(pid, signal)
    }

    /// Waits at most `timeout` for the process to end; its exit status, or `nil` while it still runs.
    func waitForExit(timeout: Duration) async -> (status: Int32, bySignal: Bool)? {
        let deadline = ContinuousClock.now + timeout
        while process.isRunning, ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(20))
        }
        guard !process.isRunning else { return nil }
        return (process.terminationStatus, process.terminationReason == .uncaughtSignal)
    }

    /// SIGKILL if it still runs (the end of every test, whatever happened).
    func forceKill() {
        if process.isRunning { kill(pid, SIGKILL) }
        process.waitUntilExit()
    }

    var log: String { (try? String(contentsOf: logFile, encoding: .utf8)) ?? "" }

    /// Why a process that should have exited has not, for a failure message: its state in the
    /// kernel (a zombie has exited and only waits to be reaped), every thread's stack when `gdb`
    /// is installed, and its log.
    var stillRunningReport: String {
        let stat = (try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8)) ?? "(no /proc entry: the process is gone)"
        var report = "kernel state: \(stat.split(separator: ")").last.map { $0.prefix(3) } ?? "?")\n"
        if let gdb = ["/usr/bin/gdb", "/bin/gdb"].first(where: FileManager.default.isExecutableFile(atPath:)), !stat.contains(") Z") {
            let dump = Process()
            dump.executableURL = URL(fileURLWithPath: gdb)
            dump.arguments = ["-p", "\(pid)", "-batch", "-ex", "thread apply all bt 30"]
            let output = Pipe()
            dump.standardOutput = output
            dump.standardError = output
            if (try? dump.run()) != nil {
                let data = output.fileHandleForReading.readDataToEndOfFile()
                dump.waitUntilExit()
                report += "threads:\n" + String(decoding: data, as: UTF8.self) + "\n"
            }
        }
        return report + "log:\n" + log
    }

    /// A JSON request to the server.
    func request(_ method: HTTPMethod, _ path: String, json: JSONValue? = nil) async throws -> (status: Int, body: JSONValue) {
        var request = HTTPClientRequest(url: baseURL + path)
        request.method = method
        if let json {
            request.headers.add(name: "content-type", value: "application/json")
            request.body = .bytes(ByteBuffer(bytes: json.serialized()))
        }
        let response = try await TestHarness.httpClient.execute(request, timeout: .seconds(10))
        let body = try await response.body.collect(upTo: 1 << 22)
        return (Int(response.status.code), (try? JSONValue(parsing: body.readableBytesView)) ?? .null)
    }

    /// Starts a streaming request (a POST of `json`, or a GET) and returns the response once its head arrived.
    func openStream(_ path: String, json: JSONValue? = nil, method: HTTPMethod = .POST) async throws -> HTTPClientResponse {
        var request = HTTPClientRequest(url: baseURL + path)
        request.method = method
        if let json {
            request.headers.add(name: "content-type", value: "application/json")
            request.body = .bytes(ByteBuffer(bytes: json.serialized()))
        }
        return try await TestHarness.httpClient.execute(request, timeout: .seconds(30))
    }

    struct ServerFailed: Error, CustomStringConvertible {
        var message: String
        var description: String { message }
    }
}

/// Reads an SSE body event by event.
struct SSEReader {
    private var iterator: HTTPClientResponse.Body.AsyncIterator
    private var parser = SSEParser()
    private var pending: [SSEEvent] = []
    /// Every event read so far.
    private(set) var events: [SSEEvent] = []

    init(_ response: HTTPClientResponse) {
        iterator = response.body.makeAsyncIterator()
    }

    /// The next event; `nil` when the stream ended.
    mutating func next() async throws -> SSEEvent? {
        while pending.isEmpty {
            guard let buffer = try await iterator.next() else { return nil }
            pending = parser.parse(buffer.readableBytesView)
        }
        let event = pending.removeFirst()
        events.append(event)
        return event
    }

    /// Reads until `count` events of `type` arrived (or the stream ended).
    mutating func read(_ count: Int, of type: String) async throws {
        var seen = 0
        while seen < count, let event = try await next() {
            if event.event == type { seen += 1 }
        }
    }

    /// The rest of the stream, until it ends or fails.
    mutating func drain() async {
        while (try? await next()) != nil {}
    }
}
