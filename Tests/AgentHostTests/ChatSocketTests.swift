import AgentHostTesting
import ChatBridge
import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import Testing
import NIOWebSocket
import WSClient

@testable import AgentHost

extension WebSocketSuites {
@Suite("ws/chat: rooms over real WebSockets", .timeLimit(.minutes(3)))
struct ChatSocketTests {
    static func chat(_ message: String) -> JSONValue { ["type": "chat", "message": .string(message)] }

    /// Reads until `chat_complete` (or an `error` of a generation) and returns the frames of that generation.
    static func generation(_ socket: TestSocket) async throws -> [JSONValue] {
        var frames: [JSONValue] = []
        while true {
            let frame = try await socket.next()
            guard frame["chat_id"] != nil || frame.type == "chat_start" else { continue }
            frames.append(frame)
            if frame.type == "chat_complete" || frame.type == "error" { return frames }
        }
    }

    @Test func twoTabsOfOneUserBothSeeTheStreamAndOthersSeeNothing() async throws {
        try await TestHarness.withUpstream { harness, upstream in
            let workspace = try await harness.addWorkspace("Team")
            try await harness.addWorkspace("Other")
            let alice = try await harness.addUser("alice")
            let bob = try await harness.addUser("bob")
            _ = try await harness.store.addWelcomeMessage(WelcomeMessage(userId: nil, userMessage: nil, response: "Hello!", orderIndex: 0))
            let thread = try await harness.store.createThread(workspaceId: workspace.id!, userId: alice.id, name: "Plans")
            let aliceToken = try await harness.token(for: alice)
            let bobToken = try await harness.token(for: bob)
            await upstream.enqueue(VendorStream.openAI(tokens: ["Sure", ", ", "done."]).paced(.milliseconds(30)))
            try await harness.testLive { client in
                let secondTab = SeenFrames()
                let bobSaw = SeenFrames()
                let otherWorkspace = SeenFrames()
                try await withThrowingTaskGroup(of: Void.self) { group in
                    let ready = Countdown(4)
                    group.addTask {
                        try await client.chatSocket("team", thread: thread.slug, token: aliceToken) { socket in
                            _ = try await socket.next("connected")
                            await ready.arrive()
                            await secondTab.set(try await Self.generation(socket))
                        }
                    }
                    group.addTask {
                        // Bob in his own default thread of the same workspace: another room.
                        try await client.chatSocket("team", token: bobToken) { socket in
                            _ = try await socket.next("connected")
                            await ready.arrive()
                            try? await Task.sleep(for: .milliseconds(600))
                            try await socket.send(["type": "ping"])
                            await bobSaw.set([try await socket.next()])
                        }
                    }
                    group.addTask {
                        // Alice in another workspace: another room too.
                        try await client.chatSocket("other", token: aliceToken) { socket in
                            _ = try await socket.next("connected")
                            await ready.arrive()
                            try? await Task.sleep(for: .milliseconds(600))
                            try await socket.send(["type": "ping"])
                            await otherWorkspace.set([try await socket.next()])
                        }
                    }
                    group.addTask {
                        try await client.chatSocket("team", thread: thread.slug, token: aliceToken) { socket in
                            let connected = try await socket.next("connected")
                            #expect(connected["thread"] == "plans")
                            #expect(connected["user"] == "alice")
                            #expect(connected["welcome_messages"]?.arrayValue?.first?["response"] == "Hello!")
                            await ready.arrive()
                            await ready.wait()
                            try await socket.send(Self.chat("Plan my week"))
                            let frames = try await Self.generation(socket)
                            #expect(frames.map(\.type) == ["chat_start", "chat_token", "chat_token", "chat_token", "chat_complete"])
                            #expect(frames.allSatisfy { $0["user"] == "alice" })
                            #expect(frames.last?["response"] == "Sure, done.")
                        }
                    }
                    try await group.waitForAll()
                }
                let seen = await secondTab.frames
                #expect(seen.map(\.type) == ["chat_start", "chat_token", "chat_token", "chat_token", "chat_complete"], "the other tab sees it all")
                #expect(await bobSaw.frames.map(\.type) == ["pong"], "another user's room gets nothing")
                #expect(await otherWorkspace.frames.map(\.type) == ["pong"], "nothing crosses workspaces")
                let stored = try await harness.store.history(HistoryQuery(workspaceId: workspace.id!, threadId: thread.id), viewer: .singleUser)
                #expect(stored.last?.chat.response == "Sure, done.")
            }
        }
    }

    @Test func typingReachesOnlyOthersAndStopsWhenATypistLeaves() async throws {
        try await TestHarness.withUpstream { harness, _ in
            try await harness.addWorkspace("Team")
            try await harness.testLive { client in
                let watcherSaw = SeenFrames()
                try await withThrowingTaskGroup(of: Void.self) { group in
                    let ready = Countdown(2)
                    group.addTask {
                        try await client.chatSocket("team") { socket in
                            _ = try await socket.next("connected")
                            await ready.arrive()
                            let typing = try await socket.next("typing")
                            let stopped = try await socket.next("typing")
                            await watcherSaw.set([typing, stopped])
                        }
                    }
                    group.addTask {
                        try await client.chatSocket("team") { socket in
                            _ = try await socket.next("connected")
                            await ready.arrive()
                            await ready.wait()
                            try await socket.send(["type": "typing", "is_typing": true])
                            try await socket.send(["type": "typing", "is_typing": true])  // throttled
                            try await socket.send(["type": "ping"])
                            #expect(try await socket.next().type == "pong", "the typist gets no typing frame of its own")
                            // Leaving while typing tells the others it stopped.
                        }
                    }
                    try await group.waitForAll()
                }
                let frames = await watcherSaw.frames
                #expect(frames.map { $0["is_typing"] } == [true, false])
            }
        }
    }

    @Test func feedbackIsAckedAndBroadcastAndOwnershipIsChecked() async throws {
        try await TestHarness.withUpstream { harness, _ in
            let workspace = try await harness.addWorkspace("Team")
            let alice = try await harness.addUser("alice")
            let bob = try await harness.addUser("bob")
            let aliceChat = try await harness.addChat(workspace: workspace, user: alice, prompt: "q", response: "a")
            let aliceToken = try await harness.token(for: alice)
            let bobToken = try await harness.token(for: bob)
            try await harness.testLive { client in
                let otherTab = SeenFrames()
                try await withThrowingTaskGroup(of: Void.self) { group in
                    let ready = Countdown(2)
                    group.addTask {
                        try await client.chatSocket("team", token: aliceToken) { socket in
                            _ = try await socket.next("connected")
                            await ready.arrive()
                            await otherTab.set([try await socket.next("feedback")])
                        }
                    }
                    group.addTask {
                        try await client.chatSocket("team", token: aliceToken) { socket in
                            _ = try await socket.next("connected")
                            await ready.arrive()
                            await ready.wait()
                            try await socket.send(["type": "feedback", "chat_id": .number(Double(aliceChat.id!)), "feedback": true])
                            let ack = try await socket.next()
                            #expect(ack.type == "feedback_ack")
                            #expect(ack["feedback"] == true)
                        }
                    }
                    try await group.waitForAll()
                }
                #expect(await otherTab.frames.first?["feedback"] == true)
                #expect(await otherTab.frames.first?["user"] == "alice")
                #expect(try await harness.store.chat(id: aliceChat.id!, viewer: .singleUser)?.chat.feedback == true)
                try await client.chatSocket("team", token: bobToken) { socket in
                    _ = try await socket.next("connected")
                    try await socket.send(["type": "feedback", "chat_id": .number(Double(aliceChat.id!)), "feedback": false])
                    let error = try await socket.next()
                    #expect(error.type == "error")
                    #expect(error["code"] == "not_found")
                }
                #expect(try await harness.store.chat(id: aliceChat.id!, viewer: .singleUser)?.chat.feedback == true)
            }
        }
    }

    @Test func cancelStopsTheGenerationAndKeepsThePartial() async throws {
        try await TestHarness.withUpstream { harness, upstream in
            try await harness.addWorkspace("Team")
            await upstream.enqueue(VendorStream.openAI(tokens: (0..<400).map { "w\($0) " }).paced(.milliseconds(10)))
            try await harness.testLive { client in
                try await client.chatSocket("team") { socket in
                    _ = try await socket.next("connected")
                    try await socket.send(Self.chat("write a lot"))
                    let start = try await socket.next("chat_start")
                    _ = try await socket.next("chat_token")
                    try await socket.send(["type": "cancel", "chat_id": start["chat_id"]!])
                    let complete = try await socket.next("chat_complete")
                    #expect(complete["status"] == "cancelled")
                    let dbId = try #require(complete["db_id"]?.intValue)
                    let chat = try #require(try await harness.store.chat(id: Int64(dbId), viewer: .singleUser)?.chat)
                    #expect(chat.status == .cancelled)
                    #expect(chat.response.hasPrefix("w0"))
                    #expect(chat.response == complete["response"]?.stringValue)
                }
                #expect(await upstream.waitForEndedExchanges(1).first?.abandoned == true)
            }
        }
    }

    @Test func resumeAfterDisconnectHasNoGapsOrDuplicates() async throws {
        try await TestHarness.withUpstream { harness, upstream in
            try await harness.addWorkspace("Team")
            let tokens = (0..<60).map { "t\($0) " }
            await upstream.enqueue(VendorStream.openAI(tokens: tokens).paced(.milliseconds(15)))
            try await harness.testLive { client in
                let first = SeenFrames()
                try await client.chatSocket("team") { socket in
                    _ = try await socket.next("connected")
                    try await socket.send(Self.chat("count"))
                    var frames: [JSONValue] = []
                    while frames.filter({ $0.type == "chat_token" }).count < 5 {
                        let frame = try await socket.next()
                        if frame["chat_id"] != nil { frames.append(frame) }
                    }
                    await first.set(frames)
                    // The phone loses signal here.
                }
                let before = await first.frames
                let chatId = try #require(before.first?["chat_id"])
                let lastSeq = try #require(before.last?["seq"]?.intValue)
                try await Task.sleep(for: .milliseconds(100))
                try await client.chatSocket("team") { socket in
                    let connected = try await socket.next("connected")
                    #expect(connected["generations"]?.arrayValue?.first?["chat_id"] == chatId, "the running generation is announced")
                    try await socket.send(["type": "resume", "chat_id": chatId, "after_seq": .number(Double(lastSeq))])
                    let rest = try await Self.generation(socket)
                    let seqs = rest.compactMap { $0["seq"]?.intValue }
                    #expect(seqs == Array((lastSeq + 1)...(lastSeq + seqs.count)), "no gaps, no duplicates")
                    let text = (before + rest).compactMap { $0["token"]?.stringValue }.joined()
                    #expect(text == tokens.joined())
                    #expect(rest.last?["response"]?.stringValue == tokens.joined())
                }
            }
        }
    }

    @Test func aSlowReaderIsCutOffWhileAFastOneGetsEverything() async throws {
        try await TestHarness.withUpstream(configure: { $0.chatSocket.outboundBuffer = 128 }) { harness, upstream in
            try await harness.addWorkspace("Team")
            // ~24 MB in 6 s: far more than socket buffers plus 128 queued frames (2 MB) hold for a reader
            // that pauses 12 s, yet slow enough that the fast reader keeps up on a loaded 2-core machine
            // (publishing a frame does not wait, so the tokens arrive at the upstream's own pace).
            let big = String(repeating: "x", count: 16_384)
            let tokens = (0..<1500).map { "\($0):" + big }
            await upstream.enqueue(VendorStream.openAI(tokens: tokens).paced(.milliseconds(4)))
            try await harness.testLive { client in
                let port = try #require(client.port)
                let slowResult = SeenFrames()
                try await withThrowingTaskGroup(of: Void.self) { group in
                    let ready = Countdown(2)
                    group.addTask {
                        // Connects, then does not read for a while.
                        var logger = Logger(label: "slow")
                        logger.logLevel = .critical
                        // Frames are larger than the client default of 16 KiB; without room for them the client
                        // would leave on the first token instead of falling behind.
                        let close = try await WebSocketClient.connect(url: "ws://127.0.0.1:\(port)/ws/chat/team/",
                                                                      configuration: .init(maxFrameSize: 1 << 26), logger: logger) { inbound, _, _ in
                            await ready.arrive()
                            try? await Task.sleep(for: .seconds(12))
                            var count = 0
                            do { for try await _ in inbound.messages(maxSize: 1 << 20) { count += 1 } } catch {}
                            await slowResult.set([.number(Double(count))])
                        }
                        await slowResult.set((await slowResult.frames) + [close.map { .number(Double(UInt16(webSocketErrorCode: $0.closeCode))) } ?? .null])
                    }
                    group.addTask {
                        try await client.chatSocket("team") { socket in
                            _ = try await socket.next("connected")
                            await ready.arrive()
                            await ready.wait()
                            try await socket.send(Self.chat("flood"))
                            let frames = try await Self.generation(socket)
                            #expect(frames.filter { $0.type == "chat_token" }.count == tokens.count, "the fast reader receives everything")
                            #expect(frames.last?["status"] == "completed")
                        }
                    }
                    try await group.waitForAll()
                }
                let slow = await slowResult.frames
                let received = slow.first?.intValue ?? 0
                #expect(received < tokens.count, "the slow reader was cut off (got \(received) frames)")
                if let code = slow.last?.intValue { #expect(code == 4001) }
                let metrics = String(decoding: harness.dependencies.metrics.emitToBuffer(), as: UTF8.self)
                #expect(metrics.contains("agenthost_ws_chat_slow_disconnects_total"))
            }
        }
    }

    @Test func badInputGetsErrorFramesAndTheSocketStaysOpen() async throws {
        try await TestHarness.withUpstream(configure: { $0.chatSocket.maxFrameBytes = 2048 }) { harness, _ in
            try await harness.addWorkspace("Team")
            try await harness.testLive { client in
                try await client.chatSocket("team") { socket in
                    _ = try await socket.next("connected")
                    let cases: [(String, String)] = [
                        ("not json", "invalid_json"),
                        (#"{"type": "sing"}"#, "unknown_type"),
                        (#"{"type": "chat"}"#, "validation_failed"),
                        (#"{"type": "chat", "message": "  "}"#, "validation_failed"),
                        (#"{"type": "typing"}"#, "validation_failed"),
                        (#"{"type": "feedback", "chat_id": 99999, "feedback": true}"#, "not_found"),
                        (#"{"type": "feedback", "chat_id": 1}"#, "validation_failed"),
                        (#"{"type": "cancel", "chat_id": "nope"}"#, "not_found"),
                        (#"{"type": "resume", "chat_id": "nope", "after_seq": 3}"#, "not_found"),
                        ("{\"type\": \"chat\", \"message\": \"\(String(repeating: "y", count: 3000))\"}", "too_large"),
                    ]
                    for (text, code) in cases {
                        try await socket.sendRaw(text)
                        let frame = try await socket.next()
                        #expect(frame.type == "error", "\(text.prefix(50))")
                        #expect(frame["code"]?.stringValue == code, "\(text.prefix(50)): \(frame.serializedString)")
                    }
                    try await socket.send(["type": "ping"])
                    #expect(try await socket.next().type == "pong")
                }
                // Unknown thread and bad credentials are refused before the upgrade.
                await #expect(throws: (any Error).self) { try await client.chatSocket("team", thread: "nope") { _ in } }
                await #expect(throws: (any Error).self) { try await client.chatSocket("nope") { _ in } }
                // A forged token is ignored in single-user mode (PROTOCOL §2) and refused once users exist.
                try await harness.addUser("alice")
                await #expect(throws: (any Error).self) { try await client.chatSocket("team", token: "forged") { _ in } }
            }
        }
    }

    @Test func dailyLimitAppliesOverTheSocket() async throws {
        try await TestHarness.withUpstream { harness, _ in
            try await harness.addWorkspace("Team")
            let alice = try await harness.addUser("alice", dailyLimit: 1)
            let token = try await harness.token(for: alice)
            try await harness.testLive { client in
                try await client.chatSocket("team", token: token) { socket in
                    _ = try await socket.next("connected")
                    try await socket.send(Self.chat("one"))
                    _ = try await socket.next("chat_complete")
                    try await socket.send(Self.chat("two"))
                    let error = try await socket.next("error")
                    #expect(error["code"] == "rate_limited")
                    #expect(error["limit"] == 1)
                }
            }
        }
    }
}
}

/// Waits until `count` parties arrived.
actor Countdown {
    private var remaining: Int
    private var waiters: [CheckedContinuation<Void, Never>] = []

    init(_ count: Int) { remaining = count }

    func arrive() {
        remaining -= 1
        if remaining <= 0 {
            for waiter in waiters { waiter.resume() }
            waiters.removeAll()
        }
    }

    func wait() async {
        if remaining <= 0 { return }
        await withCheckedContinuation { waiters.append($0) }
    }
}
