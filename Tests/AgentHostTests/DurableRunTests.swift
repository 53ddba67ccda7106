import AsyncHTTPClient
import AgentHostTesting
import ChatBridge
import Foundation
import Logging
import NIOCore
import Testing
import WSClient

#if canImport(Glibc)
import Glibc
#endif

@testable import AgentHost

/// The durable run log (PROTOCOL §8) against a real `agenthost serve` process: runs outlive
/// `kill -9` and restarts, and replays equal what live watchers got.
@Suite("Durable runs across crashes and restarts", .serialized, .timeLimit(.minutes(2)))
struct DurableRunTests {
    /// PROTOCOL §8 lets frames reach the log up to 100 ms after they were sent.
    static let logDelay = Duration.milliseconds(300)

    /// `kill -9` while an agent run waits on a client tool, a restart, a resume on a new socket:
    /// the replay equals the live frames, the pending call is sent again, its result finishes the
    /// run on the rebuilt conversation, and `seq` runs on without a gap.
    @Test func anAgentRunWaitingOnAClientToolSurvivesKill9() async throws {
        try await Self.withServer(workspace: "Ops") { server, upstream, restart in
            await upstream.enqueue(AgentScripts.calls([("c1", "get_location", #"{"precision": "city"}"#)]),
                                   AgentScripts.answer("You are in Lyon."))

            let live = try await Self.socket("ws/agent/ops/", port: server.port) { socket in
                try await socket.send(AgentSocketTests.invoke("Where am I?", ["client_tools": [LifecycleTests.locationTool]]))
                _ = try await socket.next("tool_call")
            }
            let call = try #require(live.last)
            #expect(call.type == "tool_call")
            let invocationId = try #require(call["invocation_id"]?.stringValue)
            let callSeq = try #require(call["seq"]?.intValue)
            #expect(live.map { $0["seq"]?.intValue } == Array(0...callSeq).map { $0 })
            try await Task.sleep(for: Self.logDelay)
            server.send(signal: SIGKILL)
            _ = try #require(await server.waitForExit(timeout: .seconds(5)), "still running 5 s after the signal:\n\(server.stillRunningReport)")

            let restarted = try await restart()
            defer { restarted.forceKill() }
            let waiting = try await restarted.request(.GET, "/api/agent/invocations/\(invocationId)")
            #expect(waiting.body["status"] == "waiting")

            // REST replay from the start: exactly the live frames.
            var replay = SSEReader(try await restarted.openStream(
                "/api/agent/invocations/\(invocationId)/events?after_seq=-1", method: .GET))
            var replayed: [JSONValue] = []
            while replayed.count < live.count, let event = try await replay.next() {
                replayed.append(try JSONValue(parsing: event.data))
            }
            #expect(replayed == live, "a replay after the restart equals what the live watcher got")

            // A resume after the last frame seen: the pending call is sent again; its result finishes the run.
            let rest = try await Self.socket("ws/agent/ops/", port: restarted.port) { socket in
                try await socket.send(["type": "resume", "invocation_id": .string(invocationId), "after_seq": .int(callSeq)])
                let again = try await socket.next("tool_call")
                #expect(again == call, "the pending call, sent again as it was")
                try await socket.send(["type": "tool_result", "invocation_id": .string(invocationId), "call_id": "c1",
                                       "output": ["city": "Lyon"]])
                _ = try await socket.next("agent_complete")
            }
            let after = Array(rest.drop { $0.type == "tool_call" })
            #expect(after.map { $0["seq"]?.intValue } == Array((callSeq + 1)...(callSeq + after.count)).map { $0 },
                    "seq continues from the log without a gap")
            #expect(after.first?.type == "tool_result")
            #expect(after.first?["output"] == ["city": "Lyon"])
            let complete = try #require(after.last)
            #expect(complete["status"] == "completed")
            #expect(complete["response"] == "You are in Lyon.")
            // The model's second request is the rebuilt conversation: the question, the call, its result.
            let second = try #require(await upstream.exchanges.last?.body["messages"]?.arrayValue)
            // (Over loopback the model counts as local, so tool turns may be written as prompted text.)
            #expect(second.contains { ($0["content"]?.stringValue ?? "").contains("Where am I?") })
            #expect(second.contains { ($0["content"]?.stringValue ?? "").contains("Lyon") }, "the tool's result reached the model")

            let finished = try await restarted.request(.GET, "/api/agent/invocations/\(invocationId)")
            #expect(finished.body["status"] == "completed")
            #expect(finished.body["steps"] == 2)
            #expect(finished.body["step_log"]?.arrayValue?.count == 2)
        }
    }

    /// A chat cut by `kill -9` mid-stream: after the restart it is `interrupted` with the tokens the
    /// log holds, and its replay is those frames plus the terminal frame the repair wrote.
    @Test func aChatCutMidStreamIsInterruptedAndReplaysAfterARestart() async throws {
        try await Self.withServer(workspace: "Docs") { server, upstream, restart in
            await upstream.enqueue(LifecycleTests.slowAnswer)
            var chat = SSEReader(try await server.openStream("/api/chats/stream_chat", json: ["workspace": "docs", "message": "count"]))
            try await chat.read(5, of: "chat_token")
            let seen = try chat.events.map { try JSONValue(parsing: $0.data) }
            let chatId = try #require(seen.first?["chat_id"]?.stringValue)
            try await Task.sleep(for: Self.logDelay)
            server.send(signal: SIGKILL)
            _ = try #require(await server.waitForExit(timeout: .seconds(5)), "still running 5 s after the signal:\n\(server.stillRunningReport)")

            let restarted = try await restart()
            defer { restarted.forceKill() }
            var replay = SSEReader(try await restarted.openStream("/api/runs/\(chatId)/events?after_seq=-1", method: .GET))
            await replay.drain()
            let frames = try replay.events.map { try JSONValue(parsing: $0.data) }
            #expect(Array(frames.prefix(seen.count)) == seen, "the frames a client saw are logged as sent")
            #expect(frames.map { $0["seq"]?.intValue } == Array(0..<frames.count).map { $0 })
            let end = try #require(frames.last)
            #expect(end.type == "chat_complete")
            #expect(end["status"] == "interrupted")
            let logged = frames.compactMap { $0["token"]?.stringValue }.joined()
            #expect(logged.hasPrefix("t0 t1 t2 t3 t4 "))
            #expect(end["response"]?.stringValue == logged, "the partial response as logged")
            let stored = try await restarted.request(.GET, "/api/chats?workspace=docs")
            let row = try #require(stored.body["chats"]?.arrayValue?.first)
            #expect(row["status"] == "interrupted")
            #expect(row["response"]?.stringValue == logged)
        }
    }

    /// A finished run replays whole after a restart, from the log, frame for frame.
    @Test func aFinishedRunReplaysWholeAfterARestart() async throws {
        try await Self.withServer(workspace: "Docs") { server, upstream, restart in
            await upstream.enqueue(VendorStream.openAI(tokens: (0..<120).map { "w\($0) " }))
            var chat = SSEReader(try await server.openStream("/api/chats/stream_chat", json: ["workspace": "docs", "message": "count"]))
            await chat.drain()
            let live = chat.events
            #expect(live.last?.event == "chat_complete")
            let first = try #require(live.first)
            let chatId = try #require(try JSONValue(parsing: first.data)["chat_id"]?.stringValue)
            server.send(signal: SIGTERM)
            _ = try #require(await server.waitForExit(timeout: .seconds(5)), "still running 5 s after the signal:\n\(server.stillRunningReport)")

            let restarted = try await restart()
            defer { restarted.forceKill() }
            var replay = SSEReader(try await restarted.openStream("/api/runs/\(chatId)/events", method: .GET))
            await replay.drain()
            #expect(replay.events == live, "event, id and data of every frame")
            var tail = SSEReader(try await restarted.openStream("/api/runs/\(chatId)/events?after_seq=100", method: .GET))
            await tail.drain()
            #expect(tail.events == Array(live.dropFirst(101)))
        }
    }

    /// A server with one workspace on a fresh data directory and a fake upstream; `restart` starts a
    /// new process on the same data directory and upstream.
    static func withServer(workspace: String,
                           _ body: @escaping @Sendable (ServerProcess, FakeUpstream, _ restart: @Sendable () async throws -> ServerProcess) async throws -> Void)
        async throws {
        let directory = try ServerProcess.temporaryDataDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        try await FakeUpstream.run(FakeUpstream()) { upstream in
            let base = await upstream.baseURL
            let server = try await ServerProcess.start(dataDirectory: directory, upstream: base)
            defer { server.forceKill() }
            #expect(try await server.request(.POST, "/api/workspaces", json: ["name": .string(workspace)]).status == 201)
            try await body(server, upstream) { try await ServerProcess.start(dataDirectory: directory, upstream: base) }
        }
    }

    /// Connects to a WebSocket route, runs `body`, and returns every frame it read.
    static func socket(_ path: String, port: Int, _ body: @escaping @Sendable (TestSocket) async throws -> Void) async throws -> [JSONValue] {
        var logger = Logger(label: "ws-test")
        logger.logLevel = .critical
        let frames = LastFrames()
        try await WebSocketClient.connect(url: "ws://127.0.0.1:\(port)/\(path)", configuration: .init(maxFrameSize: 1 << 22),
                                          logger: logger) { inbound, outbound, _ in
            let socket = TestSocket(inbound: inbound, outbound: outbound)
            try await body(socket)
            frames.set(socket.received)
        }
        return frames.value
    }
}

final class LastFrames: @unchecked Sendable {
    private let lock = NSLock()
    private var frames: [JSONValue] = []
    var value: [JSONValue] { lock.withLock { frames } }
    func set(_ frames: [JSONValue]) { lock.withLock { self.frames = frames } }
}
