import AgentHostTesting
import AsyncHTTPClient
import ChatBridge
import Foundation
import GRDB
import Logging
import NIOCore
import Testing
import WSClient

#if canImport(Glibc)
import Glibc
#endif

@testable import AgentHost

/// Crash and shutdown of a real `agenthost serve` process (PROTOCOL §8): `kill -9` mid-stream and
/// a restart on the same data directory; SIGTERM under each kind of open stream.
@Suite("Crash and shutdown of a real server process", .serialized, .timeLimit(.minutes(2)))
struct LifecycleTests {
    /// An answer that streams for about 9 s: long enough to be cut.
    static var slowAnswer: UpstreamScript {
        VendorStream.openAI(tokens: (0..<300).map { "t\($0) " }).paced(.milliseconds(30))
    }

    static let locationTool = AgentSocketTests.locationTool
    static var waitForLocation: UpstreamScript { AgentScripts.calls([("c1", "get_location", #"{"precision": "city"}"#)]) }

    /// The rows as stored, read from the database file of a server that is not running.
    static func storedRows(_ directory: URL) async throws -> (chats: [Row], invocations: [Row]) {
        let database = try AppDatabase.openPool(directory: directory, logger: Logger(label: "test"))
        return try await database.read { db in
            (try Row.fetchAll(db, sql: "SELECT id, status, response FROM workspace_chats ORDER BY id"),
             try Row.fetchAll(db, sql: "SELECT id, status FROM agent_invocations ORDER BY created_at"))
        }
    }

    // MARK: kill -9

    /// A chat cut mid-stream ends `interrupted` with its logged tokens; an agent run waiting on its
    /// client stays `waiting` (its continuation is in `DurableRunTests`).
    @Test func rowsLeftByAKilledProcessAreRepairedAtRestart() async throws {
        let directory = try ServerProcess.temporaryDataDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        try await FakeUpstream.run(FakeUpstream()) { upstream in
            let base = await upstream.baseURL
            let server = try await ServerProcess.start(dataDirectory: directory, upstream: base)
            defer { server.forceKill() }
            #expect(try await server.request(.POST, "/api/workspaces", json: ["name": "Docs"]).status == 201)

            await upstream.enqueue(Self.slowAnswer)
            var chat = SSEReader(try await server.openStream("/api/chats/stream_chat", json: ["workspace": "docs", "message": "count"]))
            try await chat.read(3, of: "chat_token")
            await upstream.enqueue(Self.waitForLocation)
            var agent = SSEReader(try await server.openStream("/api/agent/invocations/", json: [
                "workspace": "docs", "message": "Where am I?", "client_tools": [Self.locationTool]]))
            try await agent.read(1, of: "tool_call")
            let firstEvent = try #require(agent.events.first)
            let invocationId = try #require(try JSONValue(parsing: firstEvent.data)["invocation_id"]?.stringValue)

            server.send(signal: SIGKILL)
            let exit = try #require(await server.waitForExit(timeout: .seconds(5)), "still running 5 s after SIGKILL:\n\(server.stillRunningReport)")
            #expect(exit.bySignal && exit.status == SIGKILL)
            // What the dead process left: the crash itself changed nothing.
            let left = try await Self.storedRows(directory)
            #expect(left.chats.map { $0["status"] as String } == ["streaming", "streaming"])
            #expect(left.invocations.map { $0["status"] as String } == ["running"])

            let restarted = try await ServerProcess.start(dataDirectory: directory, upstream: base)
            defer { restarted.forceKill() }
            let chats = try await restarted.request(.GET, "/api/chats?workspace=docs")
            #expect(chats.status == 200)
            let stored = try #require(chats.body["chats"]?.arrayValue)
            let statuses = stored.map { $0["status"]?.stringValue }
            #expect(statuses.sorted { ($0 ?? "") < ($1 ?? "") } == ["interrupted", "streaming"], "the agent's chat is still open")
            let cut = try #require(stored.first { $0["status"] == "interrupted" })
            #expect(cut["response"]?.stringValue?.hasPrefix("t0 t1 t2 ") == true, "the tokens logged before the crash")
            let invocation = try await restarted.request(.GET, "/api/agent/invocations/\(invocationId)")
            #expect(invocation.status == 200)
            #expect(invocation.body["status"] == "waiting")
            #expect(invocation.body["finished_at"] == .null)
            #expect(invocation.body["live"] == true)
            #expect(restarted.log.contains("repaired runs a stopped process left unfinished"))

            restarted.send(signal: SIGTERM)
            let stopped = try #require(await restarted.waitForExit(timeout: .seconds(5)), "still running 5 s after SIGTERM:\n\(restarted.stillRunningReport)")
            #expect(stopped.status == 0 && !stopped.bySignal)
        }
    }

    // MARK: SIGTERM

    @Test func shutdownTimeoutFlag() throws {
        #expect(try ServeCommand.parse([]).makeConfiguration().lifecycle.shutdownTimeout == .seconds(3))
        #expect(try ServeCommand.parse(["--shutdown-timeout", "2.5"]).makeConfiguration().lifecycle.shutdownTimeout == .milliseconds(2500))
        #expect(throws: (any Error).self) { try ServeCommand.parse(["--shutdown-timeout", "0"]).makeConfiguration() }
    }

    @Test func runLogFlags() throws {
        let defaults = try ServeCommand.parse([]).makeConfiguration().runLog
        #expect(defaults.retention == .seconds(7 * 86_400))
        #expect(defaults.batchInterval == .milliseconds(50))
        let set = try ServeCommand.parse(["--run-log-retention", "0.5", "--run-log-batch-ms", "20"]).makeConfiguration().runLog
        #expect(set.retention == .seconds(43_200))
        #expect(set.batchInterval == .milliseconds(20))
        #expect(throws: (any Error).self) { try ServeCommand.parse(["--run-log-retention", "0"]).makeConfiguration() }
        #expect(throws: (any Error).self) { try ServeCommand.parse(["--run-log-batch-ms", "101"]).makeConfiguration() }
    }

    @Test func aguiFlags() throws {
        #expect(try ServeCommand.parse([]).makeConfiguration().agui.maxContextCharacters == 20_000)
        #expect(try ServeCommand.parse(["--agui-max-context-chars", "500"]).makeConfiguration().agui.maxContextCharacters == 500)
        #expect(throws: (any Error).self) { try ServeCommand.parse(["--agui-max-context-chars", "-1"]).makeConfiguration() }
    }

    enum OpenStream: String, CaseIterable, Sendable, CustomTestStringConvertible {
        case sseChat, restAgentWaitingOnTool, socketChat, socketAgentWaitingOnTool
        var testDescription: String { rawValue }
    }

    @Test(arguments: OpenStream.allCases)
    func sigtermStopsRunsStoresThemAndExitsWithin5Seconds(_ stream: OpenStream) async throws {
        let directory = try ServerProcess.temporaryDataDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        try await FakeUpstream.run(FakeUpstream()) { upstream in
            let server = try await ServerProcess.start(dataDirectory: directory, upstream: await upstream.baseURL)
            defer { server.forceKill() }
            #expect(try await server.request(.POST, "/api/workspaces", json: ["name": "Docs"]).status == 201)
            let signalled = Signalled()

            // Each client opens its stream, sends SIGTERM once the run is in flight, and reads to the end.
            let finalFrame: JSONValue? = try await withDeadline(.seconds(10), orRecord: { server.log }) {
                switch stream {
                case .sseChat:
                    await upstream.enqueue(Self.slowAnswer)
                    var reader = SSEReader(try await server.openStream("/api/chats/stream_chat", json: ["workspace": "docs", "message": "count"]))
                    try await reader.read(3, of: "chat_token")
                    signalled.send(SIGTERM, to: server)
                    await reader.drain()
                    return reader.events.last.flatMap { try? JSONValue(parsing: $0.data) }
                case .restAgentWaitingOnTool:
                    await upstream.enqueue(Self.waitForLocation)
                    var reader = SSEReader(try await server.openStream("/api/agent/invocations/", json: [
                        "workspace": "docs", "message": "Where am I?", "client_tools": [Self.locationTool]]))
                    try await reader.read(1, of: "tool_call")
                    signalled.send(SIGTERM, to: server)
                    await reader.drain()
                    return reader.events.last.flatMap { try? JSONValue(parsing: $0.data) }
                case .socketChat:
                    await upstream.enqueue(Self.slowAnswer)
                    return try await Self.socket("ws/chat/docs/", server: server) { socket in
                        _ = try await socket.next("connected")
                        try await socket.send(["type": "chat", "message": "count"])
                        for _ in 0..<3 { _ = try await socket.next("chat_token") }
                        signalled.send(SIGTERM, to: server)
                    }
                case .socketAgentWaitingOnTool:
                    await upstream.enqueue(Self.waitForLocation)
                    return try await Self.socket("ws/agent/docs/", server: server) { socket in
                        try await socket.send(["type": "agent_invoke", "message": "Where am I?", "client_tools": [Self.locationTool]])
                        _ = try await socket.next("tool_call")
                        signalled.send(SIGTERM, to: server)
                    }
                }
            }
            let exit = try #require(await server.waitForExit(timeout: .seconds(5)), "still running 5 s after SIGTERM:\n\(server.stillRunningReport)")
            let took = try #require(signalled.at).duration(to: .now)
            #expect(exit.status == 0 && !exit.bySignal, "\(server.log)")
            #expect(took < .seconds(5))
            print("[lifecycle] \(stream.rawValue): exited \(exit.status) \(took) after SIGTERM")

            let rows = try await Self.storedRows(directory)
            let chat = try #require(rows.chats.last)
            switch stream {
            case .sseChat, .socketChat:
                // The client saw the generation end as interrupted, and it is stored so, with its tokens.
                let last = try #require(finalFrame)
                #expect(last["status"] == "interrupted", "\(last)\n\(server.log)")
                #expect(chat["status"] as String == "interrupted", "\(server.log)")
                #expect((chat["response"] as String).hasPrefix("t0 t1 t2 "), "\(server.log)")
                #expect(rows.invocations.isEmpty)
            case .restAgentWaitingOnTool, .socketAgentWaitingOnTool:
                // A run waiting on its client stays waiting (PROTOCOL §8): no end was sent or stored.
                #expect(finalFrame?["type"] != "agent_complete", "\(String(describing: finalFrame))")
                #expect(rows.invocations.map { $0["status"] as String } == ["waiting"], "\(server.log)")
                #expect(chat["status"] as String == "streaming", "\(server.log)")
            }
        }
    }

    /// Connections that have sent no complete request (an HTTP client's spare connection, a client
    /// trickling a head) do not hold up a graceful shutdown: they are closed at once, not at the
    /// shutdown timeout (3 s) nor the request-head deadline (30 s). Before, such a connection made the
    /// process outlive its shutdown timeout, as the server's task for it waited on its first request.
    @Test func sigtermClosesConnectionsWithoutARequestAtOnce() async throws {
        let directory = try ServerProcess.temporaryDataDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        try await FakeUpstream.run(FakeUpstream()) { upstream in
            let server = try await ServerProcess.start(dataDirectory: directory, upstream: await upstream.baseURL)
            defer { server.forceKill() }
            let silent = try await RawConnection.connect(port: server.port)
            let trickling = try await RawConnection.connect(port: server.port)
            try await trickling.channel.writeAndFlush(ByteBuffer(string: "GET /api/health HTTP/1.1\r\nHost: loc")).get()
            // A request on a third connection: the server has served it and is otherwise idle.
            #expect(try await server.request(.GET, "/api/health").status == 200)
            try await Task.sleep(for: .milliseconds(200))
            let signalled = ContinuousClock.now
            server.send(signal: SIGTERM)
            let exit = try #require(await server.waitForExit(timeout: .seconds(5)), "still running 5 s after SIGTERM:\n\(server.stillRunningReport)")
            let took = signalled.duration(to: .now)
            #expect(exit.status == 0 && !exit.bySignal, "\(server.log)")
            #expect(took < .seconds(2), "took \(took)")
            print("[lifecycle] connections without a request: exited \(exit.status) \(took) after SIGTERM")
            try? await silent.channel.close()
            try? await trickling.channel.close()
        }
    }

    /// Clients that never read: an SSE chat whose answer (6.5 MB, more than the socket buffers hold) stalls its writer, and a
    /// `ws/chat` upgrade that never reads the server's close frame nor answers it. The process still
    /// exits 0 within 5 s (the runs are stored first, the connections cut at --shutdown-timeout).
    @Test func sigtermExitsWithin5SecondsWhenClientsNeverRead() async throws {
        let directory = try ServerProcess.temporaryDataDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        try await FakeUpstream.run(FakeUpstream()) { upstream in
            let server = try await ServerProcess.start(dataDirectory: directory, upstream: await upstream.baseURL)
            defer { server.forceKill() }
            #expect(try await server.request(.POST, "/api/workspaces", json: ["name": "Docs"]).status == 201)
            let big = String(repeating: "x", count: 16_384)
            await upstream.enqueue(VendorStream.openAI(tokens: (0..<400).map { "\($0):" + big }).paced(.milliseconds(5)))

            let body = #"{"workspace": "docs", "message": "flood"}"#
            let stalledSSE = try RawClient(port: server.port, request: "POST /api/chats/stream_chat HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                + "Content-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\n\r\n" + body)
            defer { stalledSSE.close() }
            let silentSocket = try RawClient(port: server.port, request: "GET /ws/chat/docs/ HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                + "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                + "Sec-WebSocket-Version: 13\r\n\r\n")
            defer { silentSocket.close() }
            // Let the answer fill the stalled client's buffers (paced, so the flood does not starve other tests).
            let deadline = ContinuousClock.now + .seconds(10)
            while await upstream.exchanges.isEmpty, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
            try await Task.sleep(for: .seconds(1))

            let sent = ContinuousClock.now
            server.send(signal: SIGTERM)
            let exit = try #require(await server.waitForExit(timeout: .seconds(5)), "still running 5 s after SIGTERM:\n\(server.stillRunningReport)")
            let took = sent.duration(to: .now)
            print("[lifecycle] clients that never read: exited \(exit.status) \(took) after SIGTERM")
            #expect(exit.status == 0 && !exit.bySignal, "\(server.log)")
            let rows = try await Self.storedRows(directory)
            #expect(rows.chats.map { $0["status"] as String } == ["interrupted"])
        }
    }

    /// Connects to a WebSocket route of `server`, runs `body`, then reads every frame until the
    /// server closes; returns the last frame that carried a `status`.
    static func socket(_ path: String, server: ServerProcess,
                       _ body: @escaping @Sendable (TestSocket) async throws -> Void) async throws -> JSONValue? {
        let frames = try await DurableRunTests.socket(path, port: server.port) { socket in
            try await body(socket)
            while (try? await socket.next()) != nil {}
        }
        return frames.last { $0["status"] != nil }
    }
}

/// When SIGTERM was sent.
final class Signalled: @unchecked Sendable {
    private let lock = NSLock()
    private var instant: ContinuousClock.Instant?

    var at: ContinuousClock.Instant? { lock.withLock { instant } }

    func send(_ signal: Int32, to server: ServerProcess) {
        lock.withLock { instant = .now }
        server.send(signal: signal)
    }
}

/// Runs `body`, failing when it has not finished within `limit`. When it fails or throws, the
/// text `context` gives (a server's log) is recorded with the error: CI shows only the failures.
func withDeadline<Value: Sendable>(
    _ limit: Duration, orRecord context: () -> String = { "" }, _ body: @escaping @Sendable () async throws -> Value
) async throws -> Value {
    do {
        return try await racing(body, against: limit)
    } catch {
        let text = context()
        if !text.isEmpty { Issue.record("\(error); the context:\n\(text)") }
        throw error
    }
}

private func racing<Value: Sendable>(_ body: @escaping @Sendable () async throws -> Value, against limit: Duration) async throws -> Value {
    try await withThrowingTaskGroup(of: Value?.self) { group in
        group.addTask { try await body() }
        group.addTask {
            try await Task.sleep(for: limit)
            return nil
        }
        defer { group.cancelAll() }
        guard let first = try await group.next(), let value = first else {
            throw DeadlinePassed(limit: limit)
        }
        return value
    }
}

struct DeadlinePassed: Error, CustomStringConvertible {
    var limit: Duration
    var description: String { "not finished within \(limit)" }
}

/// A TCP client that sends one request and then never reads.
final class RawClient: @unchecked Sendable {
    private let descriptor: Int32

    init(port: Int, request: String) throws {
        descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        // A small receive buffer, so the server's writes back up sooner.
        var size: Int32 = 4096
        setsockopt(descriptor, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(port).bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { throw ServerProcess.ServerFailed(message: "connect() failed") }
        let bytes = Array(request.utf8)
        guard send(descriptor, bytes, bytes.count, Int32(MSG_NOSIGNAL)) == bytes.count else {
            throw ServerProcess.ServerFailed(message: "send() failed")
        }
    }

    func close() {
        Glibc.close(descriptor)
    }
}
