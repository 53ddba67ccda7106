import AgentHostTesting
import ChatBridge
import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import NIOWebSocket
import GRDB
import Testing
import WSClient

@testable import AgentHost

extension WebSocketSuites {
/// Serialized: several of these move megabytes, and together they would starve the suite's
/// timing-sensitive tests on a small machine.
@Suite("WebSockets under back-pressure, oversize frames and errors", .serialized, .timeLimit(.minutes(2)))
struct SocketHardeningTests {
    static func chat(_ message: String) -> JSONValue { ["type": "chat", "message": .string(message)] }

    /// ~48 MB of tokens: more than the socket buffers between a client and the server can hold.
    /// Loopback buffers autotune up to net.ipv4.tcp_rmem's maximum (32 MB here) plus tcp_wmem's
    /// (4 MB); with 24 MB the client's buffer sometimes took the whole run and nothing was ever cut.
    static let flood = (0..<768).map { "\($0):" + String(repeating: "x", count: 65_536) }

    /// The value of a gauge in the server's Prometheus output.
    static func gauge(_ name: String, _ harness: TestHarness) -> Double? {
        let text = String(decoding: harness.dependencies.metrics.emitToBuffer(), as: UTF8.self)
        let line = text.split(separator: "\n").first { $0.hasPrefix(name + " ") }
        return line.flatMap { Double($0.split(separator: " ").last ?? "") }
    }

    // MARK: Replay pulled by the writer

    /// The issue's probe: `resume` of a 3,000-token generation closed with 4001 every time (the
    /// replay was pushed into the 1024-frame queue).
    @Test func resumeOfA3000TokenGenerationReplaysWhole() async throws {
        try await TestHarness.withUpstream { harness, upstream in
            try await harness.addWorkspace("Team")
            let tokens = (0..<3000).map { "t\($0) " }
            await upstream.enqueue(VendorStream.openAI(tokens: tokens))
            try await harness.testLive { client in
                let started = SeenFrames()
                try await client.chatSocket("team") { socket in
                    _ = try await socket.next("connected")
                    try await socket.send(Self.chat("count"))
                    await started.set([try await socket.next("chat_start")])
                    // Leaves; the generation goes on without it.
                }
                let chatId = try #require(await started.frames.first?["chat_id"])
                var status: Chat.Status? = .streaming
                for _ in 0..<200 where status == .streaming {
                    try await Task.sleep(for: .milliseconds(50))
                    status = try await harness.store.chats(ChatListQuery(), viewer: .singleUser).chats.first?.chat.status
                }
                #expect(status == .completed)
                try await client.chatSocket("team") { socket in
                    _ = try await socket.next("connected")
                    try await socket.send(["type": "resume", "chat_id": chatId, "after_seq": -1])
                    let replay = try await ChatSocketTests.generation(socket)
                    #expect(replay.map { $0["seq"]?.intValue } == Array(0..<replay.count).map { $0 }, "whole, in order")
                    #expect(replay.first?.type == "chat_start")
                    #expect(replay.compactMap { $0["token"]?.stringValue }.joined() == tokens.joined())
                    #expect(replay.last?["response"]?.stringValue == tokens.joined())
                    // Still open afterwards.
                    try await socket.send(["type": "ping"])
                    _ = try await socket.next("pong")
                }
            }
        }
    }

    /// Resuming a generation while it still streams: the replay (longer than the outbound buffer)
    /// is pulled, then the stream continues live with no gap or repeat.
    @Test func resumeMidStreamWithASmallBufferHasNoGapsOrRepeats() async throws {
        try await TestHarness.withUpstream(configure: { $0.chatSocket.outboundBuffer = 128 }) { harness, upstream in
            try await harness.addWorkspace("Team")
            let tokens = (0..<500).map { "t\($0) " }
            await upstream.enqueue(VendorStream.openAI(tokens: tokens).paced(.milliseconds(10)))
            try await harness.testLive { client in
                let started = SeenFrames()
                try await client.chatSocket("team") { socket in
                    _ = try await socket.next("connected")
                    try await socket.send(Self.chat("count"))
                    await started.set([try await socket.next("chat_start")])
                    // Leaves once ~200 frames (more than the buffer of 128) are in the log.
                    var seq = 0
                    while seq < 200 { seq = try await socket.next()["seq"]?.intValue ?? seq }
                }
                let chatId = try #require(await started.frames.first?["chat_id"])
                try await client.chatSocket("team") { socket in
                    let connected = try await socket.next("connected")
                    #expect(connected["generations"]?.arrayValue?.first?["chat_id"] == chatId, "still running")
                    try await socket.send(["type": "resume", "chat_id": chatId, "after_seq": -1])
                    let frames = try await ChatSocketTests.generation(socket)
                    #expect(frames.map { $0["seq"]?.intValue } == Array(0..<frames.count).map { $0 }, "no gap, no repeat")
                    #expect(frames.compactMap { $0["token"]?.stringValue }.joined() == tokens.joined())
                    #expect(frames.last?["status"] == "completed")
                }
            }
        }
    }

    /// `ws/agent`'s outbound queue is bounded: a client that stops reading is closed with 4001, the
    /// run goes on, and a resume on a new socket replays all of it (pulled at the client's pace).
    @Test func aSlowAgentClientIsCutOffWith4001AndResumesTheWholeRun() async throws {
        try await TestHarness.withUpstream(configure: { $0.agent.outboundBuffer = 16 }) { harness, upstream in
            try await harness.addWorkspace("Ops")
            let tokens = Self.flood
            await upstream.enqueue(VendorStream.openAI(tokens: tokens))
            try await harness.testLive { client in
                let port = try #require(client.port)
                var logger = Logger(label: "slow")
                logger.logLevel = .critical
                let invocation = SeenFrames()
                let close = try await WebSocketClient.connect(url: "ws://127.0.0.1:\(port)/ws/agent/ops/",
                                                              configuration: .init(maxFrameSize: 1 << 26), logger: logger) { inbound, outbound, _ in
                    try await outbound.write(.text(AgentSocketTests.invoke("flood").serializedString))
                    var messages = inbound.messages(maxSize: 1 << 26).makeAsyncIterator()
                    if case .text(let text)? = try await messages.next() { await invocation.set([try JSONValue(parsing: text)]) }
                    // Stop reading until the run has produced everything (the server must not queue its
                    // frames for us without bound): until the upstream wrote its whole answer, which a
                    // loaded machine can take much longer than any fixed pause.
                    for _ in 0..<600 where await upstream.exchanges.first?.completed != true {
                        try? await Task.sleep(for: .milliseconds(100))
                    }
                    // Then read what got through, until the server's close (or the run's end, had it kept us).
                    var sawComplete = false
                    do {
                        while !sawComplete, let message = try await messages.next() {
                            if case .text(let text) = message { sawComplete = text.contains("\"agent_complete\"") }
                        }
                    } catch {}
                    await invocation.set((await invocation.frames) + [.bool(sawComplete)])
                }
                let seen = await invocation.frames
                #expect(seen.last == false, "cut off before the end of the run")
                // The 4001 close frame may not get through a full socket buffer; then the server closes hard.
                if let code = close?.closeCode { #expect(UInt16(webSocketErrorCode: code) == 4001) }
                let start = try #require(await invocation.frames.first)
                #expect(start.type == "agent_start")
                let invocationId = try #require(start["invocation_id"])
                // Resume once the run is over, so the whole run is a replay (pulled, never queued).
                let id = try #require(invocationId.stringValue)
                var status = "running"
                for _ in 0..<300 where status == "running" {
                    try await Task.sleep(for: .milliseconds(100))
                    status = try await harness.dependencies.invocations.invocation(id: id, viewer: .singleUser)?.0.status.rawValue ?? "running"
                }
                #expect(status == "completed")
                try await client.agentSocket("ops") { socket in
                    try await socket.send(["type": "resume", "invocation_id": invocationId, "after_seq": -1])
                    let complete = try await socket.untilComplete()
                    #expect(complete["status"] == "completed")
                    let frames = socket.received
                    #expect(frames.map { $0["seq"]?.intValue } == Array(0..<frames.count).map { $0 }, "whole, in order")
                    #expect(frames.filter { $0.type == "agent_token" }.count == tokens.count)
                }
            }
        }
    }

    /// `/v1`'s stream has the same bounded queue; OpenAI's clients take a stream that ends without
    /// `[DONE]` for a whole answer, so a client cut off gets an error event instead, and the answer
    /// is still stored whole.
    @Test func aSlowOpenAIClientIsToldItWasCutOff() async throws {
        // A keep-alive interval longer than the test: a writer stuck that long would be closed (below).
        try await TestHarness.withUpstream(configure: {
            $0.chatSocket.outboundBuffer = 16
            $0.keepAliveInterval = .seconds(300)
        }) { harness, upstream in
            try await harness.addWorkspace("Ops")
            let tokens = Self.flood
            await upstream.enqueue(VendorStream.openAI(tokens: tokens))
            try await harness.testLive { client in
                let port = try #require(client.port)
                let tail = String(decoding: try await Self.stallThenRead(
                    port: port, post: "/v1/chat/completions", #"{"model":"ops","stream":true,"messages":[{"role":"user","content":"flood"}]}"#,
                    until: upstream, keeping: 200_000), as: UTF8.self)
                #expect(tail.hasSuffix("0\r\n\r\n"), "the response ends properly")
                #expect(!tail.contains("[DONE]"), "cut off before the end of the answer")
                let event = try #require(tail.components(separatedBy: "data: ").last?.components(separatedBy: "\n\n").first)
                let error = try JSONValue(parsing: Array(event.utf8))["error"]
                #expect(error?["code"] == "overloaded")
                #expect(error?["retry_after"] == 1)
                #expect(error?["message"]?.stringValue?.contains("/events?after_seq=-1") == true)
                // The generation went on and stored the whole answer.
                let chat = try await Self.finishedChat(harness)
                #expect(chat?.status == .completed)
                #expect(chat?.response.utf8.count == tokens.reduce(0) { $0 + $1.utf8.count })
            }
        }
    }

    /// An SSE client cut off for slowness that stopped reading altogether (its socket open) would hold
    /// its writer in a write that never ends, and with it the response, the connection and the run's
    /// subscription: the connection is closed a keep-alive interval after the cut. Read afterwards,
    /// the response stops short of the chunked body's end.
    @Test func anSSEClientThatStoppedReadingIsClosed() async throws {
        try await TestHarness.withUpstream(configure: {
            $0.chatSocket.outboundBuffer = 16
            $0.keepAliveInterval = .seconds(1)
        }) { harness, upstream in
            try await harness.addWorkspace("Ops")
            await upstream.enqueue(VendorStream.openAI(tokens: Self.flood))
            try await harness.testLive { client in
                let port = try #require(client.port)
                // A few keep-alive intervals past the model's end before reading.
                let ending = try await Self.stallThenRead(port: port, post: "/api/chats/stream_chat", #"{"message":"flood","workspace":"ops"}"#,
                                                          until: upstream, andFor: .seconds(4), keeping: 64)
                #expect(!ending.suffix(5).elementsEqual("0\r\n\r\n".utf8), "the stuck stream was closed, not finished")
                // The generation went on and stored the whole answer.
                let chat = try await Self.finishedChat(harness)
                #expect(chat?.status == .completed)
            }
        }
    }

    /// POSTs `body` to `path` on a raw connection and reads nothing until the upstream has sent its
    /// whole answer (and `pause` more), then reads what the connection still delivers up to the end of
    /// the chunked body or the connection's, keeping the last `keeping` bytes.
    static func stallThenRead(port: Int, post path: String, _ body: String, until upstream: FakeUpstream,
                              andFor pause: Duration = .zero, keeping: Int) async throws -> [UInt8] {
        let channel = try await RawConnection.connect(port: port)
        let underlying = channel.channel
        let watchdog = underlying.eventLoop.scheduleTask(in: .seconds(90)) { underlying.close(promise: nil) }
        defer { watchdog.cancel() }
        return try await channel.executeThenClose { inbound, outbound in
            try await outbound.write(ByteBuffer(string: "POST \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                + "Content-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\n\r\n" + body))
            for _ in 0..<600 where await upstream.exchanges.first?.completed != true {
                try? await Task.sleep(for: .milliseconds(100))
            }
            try? await Task.sleep(for: pause)
            var tail: [UInt8] = []
            do {
                for try await buffer in inbound {
                    tail += buffer.readableBytesView
                    if tail.count > 2 * keeping { tail.removeFirst(tail.count - keeping) }
                    if tail.suffix(5).elementsEqual("0\r\n\r\n".utf8) { break }
                }
            } catch {}
            return tail
        }
    }

    /// The newest chat once it has stopped streaming (or after 30 s).
    static func finishedChat(_ harness: TestHarness) async throws -> Chat? {
        var chat: Chat?
        for _ in 0..<300 {
            chat = try await harness.store.chats(ChatListQuery(limit: 1), viewer: .singleUser).chats.first?.chat
            if chat?.status != .streaming { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        return chat
    }

    // MARK: Members leave rooms however the socket ends

    @Test func aSocketThatEndsWithAnErrorLeavesItsRoom() async throws {
        try await TestHarness.withUpstream(configure: { $0.chatSocket.maxFrameBytes = 2048 }) { harness, _ in
            try await harness.addWorkspace("Team")
            try await harness.testLive { client in
                // A single frame beyond the server's frame limit is a protocol error: the socket ends with an error.
                let frameLimit = harness.configuration.webSocketMaxFrameSize
                try? await client.chatSocket("team") { socket in
                    _ = try await socket.next("connected")
                    #expect(Self.gauge("agenthost_ws_chat_members", harness) == 1)
                    try await socket.sendRaw(String(repeating: "z", count: frameLimit + 1024))
                    while true { _ = try await socket.next() }
                }
                var members = Self.gauge("agenthost_ws_chat_members", harness)
                var rooms = Self.gauge("agenthost_ws_chat_rooms", harness)
                for _ in 0..<100 where members != 0 || rooms != 0 {
                    try await Task.sleep(for: .milliseconds(50))
                    members = Self.gauge("agenthost_ws_chat_members", harness)
                    rooms = Self.gauge("agenthost_ws_chat_rooms", harness)
                }
                #expect(members == 0, "the member left its room")
                #expect(rooms == 0)
            }
        }
    }

    // MARK: Oversize messages get too_large on an open socket

    @Test func a5MiBMessageOnEitherSocketGetsTooLargeAndTheSocketStaysUsable() async throws {
        try await TestHarness.withUpstream { harness, _ in
            try await harness.addWorkspace("Team")
            try await harness.testLive { client in
                // ws/agent allows 1 MiB, ws/chat 8 MiB: 5 MiB and 8.5 MiB single frames (4 MiB closed both before).
                try await client.agentSocket("team") { socket in
                    try await socket.sendRaw("{\"type\": \"ping\", \"pad\": \"\(String(repeating: "x", count: 5 << 20))\"}")
                    let error = try await socket.next()
                    #expect(error.type == "error")
                    #expect(error["code"] == "too_large")
                    try await socket.send(["type": "ping"])
                    #expect(try await socket.next().type == "pong")
                }
                try await client.chatSocket("team") { socket in
                    _ = try await socket.next("connected")
                    try await socket.sendRaw("{\"type\": \"ping\", \"pad\": \"\(String(repeating: "x", count: (8 << 20) + (1 << 19)))\"}")
                    let error = try await socket.next()
                    #expect(error.type == "error")
                    #expect(error["code"] == "too_large")
                    try await socket.send(["type": "ping"])
                    #expect(try await socket.next().type == "pong")
                }
            }
        }
    }

    // MARK: Feedback goes to the chat's own room

    @Test func feedbackForAChatOfAnotherRoomGoesToThatRoomOnly() async throws {
        try await TestHarness.withUpstream { harness, _ in
            let workspace = try await harness.addWorkspace("Team")
            let alice = try await harness.addUser("alice")
            let token = try await harness.token(for: alice)
            let thread = try await harness.store.createThread(workspaceId: workspace.id!, userId: alice.id, name: "Plans")
            // A chat of alice's default thread, rated from a socket in her "Plans" thread.
            let chat = try await harness.addChat(workspace: workspace, user: alice)
            try await harness.testLive { client in
                let ready = Countdown(3)
                let sent = Countdown(1)
                let defaultRoom = SeenFrames()
                let sameRoom = SeenFrames()
                try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask {
                        try await client.chatSocket("team", thread: thread.slug, token: token) { socket in
                            _ = try await socket.next("connected")
                            await ready.arrive()
                            await ready.wait()
                            try await socket.send(["type": "feedback", "chat_id": .number(Double(chat.id!)), "feedback": true])
                            _ = try await socket.next("feedback_ack")
                            await sent.arrive()
                        }
                    }
                    group.addTask {
                        // Another tab in the Plans room: the chat is not of this room.
                        try await client.chatSocket("team", thread: thread.slug, token: token) { socket in
                            _ = try await socket.next("connected")
                            await ready.arrive()
                            await sent.wait()
                            try await Task.sleep(for: .milliseconds(200))
                            try await socket.send(["type": "ping"])
                            await sameRoom.set([try await socket.next()])
                        }
                    }
                    group.addTask {
                        // A tab in the default thread, the chat's room.
                        try await client.chatSocket("team", token: token) { socket in
                            _ = try await socket.next("connected")
                            await ready.arrive()
                            await sent.wait()
                            try await Task.sleep(for: .milliseconds(200))
                            try await socket.send(["type": "ping"])
                            var frames: [JSONValue] = []
                            while frames.last?.type != "pong", frames.count < 10 { frames.append(try await socket.next()) }
                            await defaultRoom.set(frames)
                        }
                    }
                    try await group.waitForAll()
                }
                #expect(await sameRoom.frames.first?.type == "pong", "nothing for a room the chat is not in")
                let feedback = try #require(await defaultRoom.frames.first { $0.type == "feedback" }, "the chat's room is told")
                #expect(feedback["chat_id"]?.intValue == Int(chat.id!))
                #expect(feedback["feedback"] == true)
            }
        }
    }

    @Test func feedbackOnAnotherUsersChatIsRefusedAndNotBroadcast() async throws {
        try await TestHarness.withUpstream { harness, _ in
            let workspace = try await harness.addWorkspace("Team")
            let alice = try await harness.addUser("alice")
            let bob = try await harness.addUser("bob")
            let aliceToken = try await harness.token(for: alice)
            let bobToken = try await harness.token(for: bob)
            let chat = try await harness.addChat(workspace: workspace, user: alice)
            try await harness.testLive { client in
                let ready = Countdown(2)
                let done = Countdown(1)
                let aliceSaw = SeenFrames()
                try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask {
                        try await client.chatSocket("team", token: aliceToken) { socket in
                            _ = try await socket.next("connected")
                            await ready.arrive()
                            await done.wait()
                            try await socket.send(["type": "ping"])
                            await aliceSaw.set([try await socket.next()])
                        }
                    }
                    group.addTask {
                        try await client.chatSocket("team", token: bobToken) { socket in
                            _ = try await socket.next("connected")
                            await ready.arrive()
                            await ready.wait()
                            try await socket.send(["type": "feedback", "chat_id": .number(Double(chat.id!)), "feedback": false])
                            let error = try await socket.next()
                            #expect(error.type == "error")
                            #expect(["not_found", "forbidden"].contains(error["code"]?.stringValue ?? ""))
                            await done.arrive()
                        }
                    }
                    try await group.waitForAll()
                }
                #expect(await aliceSaw.frames.first?.type == "pong")
            }
        }
    }

    // MARK: Early approvals

    /// The engine marks a call as awaiting approval, sends `approval_required`, then waits; a client
    /// that answers in between must not lose its answer (it was a `conflict` before).
    @Test(arguments: [true, false])
    func anApprovalThatArrivesBeforeItsWaiterIsKept(approved: Bool) async throws {
        let store = SQLiteStore(writer: try DatabaseQueue())
        try AppDatabase.migrate(store.writer)
        let run = LiveRun(record: RunRecord(id: "inv", kind: .agent, workspaceId: 1, userId: nil),
                          log: RunLogWriter(store: store, logger: Logger(label: "test")))
        let invocation = Invocation(run: run, workspaceSlug: "ops")
        invocation.expectApproval(callId: "call_1")
        try invocation.deliverApproval(callId: "call_1", approved: approved, reason: approved ? nil : "no")
        let decision = await invocation.awaitApproval(callId: "call_1")
        #expect(decision == (approved ? .approved : .denied(reason: "no")))
        // Answered once: a second answer is refused.
        #expect(throws: APIError.self) { try invocation.deliverApproval(callId: "call_1", approved: true, reason: nil) }
    }
}
}
