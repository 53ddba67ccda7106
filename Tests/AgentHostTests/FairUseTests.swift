import AgentHostTesting
import AsyncHTTPClient
import ChatBridge
import Foundation
import Hummingbird
import HummingbirdTesting
import NIOCore
import Testing

@testable import AgentHost

@Suite("Fair use: caps on concurrent chat generations, over real sockets", .timeLimit(.minutes(2)))
struct FairUseTests {
    static func chat(_ message: String) -> JSONValue { ["type": "chat", "message": .string(message)] }

    static func slowAnswer(_ count: Int = 40) -> UpstreamScript {
        VendorStream.openAI(tokens: (0..<count).map { "t\($0) " }).paced(.milliseconds(25))
    }

    /// The issue's probe: 60 `chat` frames on one socket started 60 generations.
    @Test func sixtyChatFramesOnOneSocketStartOnlyTheSocketsShare() async throws {
        try await TestHarness.withUpstream(configure: { $0.fairUse.maxGenerationsPerSocket = 4 }) { harness, upstream in
            try await harness.addWorkspace("Team")
            for _ in 0..<60 { await upstream.enqueue(Self.slowAnswer()) }
            try await harness.testLive { client in
                try await client.chatSocket("team") { socket in
                    _ = try await socket.next("connected")
                    for index in 0..<60 { try await socket.send(Self.chat("m\(index)")) }
                    var started = 0
                    var refusals: [JSONValue] = []
                    var framesRead = 0
                    while started + refusals.count < 60, framesRead < 5_000 {
                        let frame = try await socket.next()
                        framesRead += 1
                        if frame.type == "chat_start" { started += 1 }
                        if frame.type == "error", frame["chat_id"] == nil { refusals.append(frame) }
                    }
                    #expect(started == 4, "the socket's cap of 4 generations")
                    #expect(refusals.count == 56)
                    let refusal = try #require(refusals.first)
                    #expect(refusal["code"] == "rate_limited")
                    #expect(refusal["limit"] == 4)
                    #expect(refusal["retry_after"] == 1)
                    // The socket stays open and usable.
                    try await socket.send(["type": "ping"])
                    _ = try await socket.next("pong")
                    // As generations finish, their slots come back.
                    var completed = 0
                    while completed < 4, framesRead < 5_000 {
                        if try await socket.next().type == "chat_complete" { completed += 1 }
                        framesRead += 1
                    }
                    var startedAgain = false
                    for attempt in 0..<50 where !startedAgain {
                        try await socket.send(Self.chat("again \(attempt)"))
                        let frame = try await socket.next()
                        startedAgain = frame.type == "chat_start"
                        if !startedAgain {
                            #expect(frame["code"] == "rate_limited")
                            try await Task.sleep(for: .milliseconds(50))
                        }
                    }
                    #expect(startedAgain)
                    _ = try await socket.next("chat_complete")
                }
                #expect(await upstream.exchanges.count == 5, "refused frames never reached the model")
            }
        }
    }

    /// One mechanism for the three transports: a user's generation on `ws/chat` counts against SSE
    /// and `/v1`, which answer 429 with `Retry-After` before any stream starts.
    @Test func aUsersCapHoldsAcrossWebSocketSSEAndV1() async throws {
        try await TestHarness.withUpstream(configure: { $0.fairUse.maxGenerationsPerUser = 1 }) { harness, upstream in
            try await harness.addWorkspace("Team")
            let alice = try await harness.addUser("alice")
            let bob = try await harness.addUser("bob")
            let aliceToken = try await harness.token(for: alice)
            let aliceHeaders = try await harness.headers(for: alice)
            let bobHeaders = try await harness.headers(for: bob)
            // Long enough (~10 s) to outlast the checks below on a loaded machine; cancelled at the end.
            await upstream.enqueue(Self.slowAnswer(400))
            try await harness.testLive { client in
                try await client.chatSocket("team", token: aliceToken) { socket in
                    _ = try await socket.next("connected")
                    try await socket.send(Self.chat("long"))
                    let start = try await socket.next("chat_start")

                    let sse = try await client.send(.post, "/api/chats/stream_chat/", headers: aliceHeaders,
                                                    json: #"{"message": "hi", "workspace": "team"}"#)
                    #expect(sse.status == .tooManyRequests)
                    #expect(sse.headers[.retryAfter] == "1")
                    #expect(sse.errorCode == "rate_limited")
                    #expect(sse.headers[.contentType]?.hasPrefix("application/json") == true, "refused before the stream")
                    for stream in [true, false] {
                        let v1 = try await client.send(.post, "/v1/chat/completions", headers: aliceHeaders,
                                                       json: #"{"model": "team", "stream": \#(stream), "messages": [{"role": "user", "content": "hi"}]}"#)
                        #expect(v1.status == .tooManyRequests)
                        #expect(v1.headers[.retryAfter] == "1")
                        #expect(v1.errorCode == "rate_limited")
                    }
                    try await socket.send(Self.chat("second"))
                    let refused = try await socket.next("error")
                    #expect(refused["code"] == "rate_limited")
                    #expect(refused["limit"] == 1)
                    // Another user is not affected.
                    let bobs = try await client.send(.post, "/v1/chat/completions", headers: bobHeaders,
                                                     json: #"{"model": "team", "messages": [{"role": "user", "content": "hi"}]}"#)
                    #expect(bobs.status == .ok)

                    try await socket.send(["type": "cancel", "chat_id": start["chat_id"]!])
                    _ = try await socket.next("chat_complete")
                }
                // The slot is back once the generation ended (bounded retry: it is freed just after the last frame).
                var status = HTTPResponse.Status.tooManyRequests
                for _ in 0..<50 where status == .tooManyRequests {
                    status = try await client.send(.post, "/api/chats/stream_chat/", headers: aliceHeaders,
                                                   json: #"{"message": "again", "workspace": "team"}"#).status
                    if status == .tooManyRequests { try await Task.sleep(for: .milliseconds(50)) }
                }
                #expect(status == .ok)
                let stored = try await harness.store.chats(ChatListQuery(), viewer: .singleUser).chats.count
                #expect(stored == 3, "refused requests stored nothing (the socket's chat, bob's, the last)")
            }
        }
    }

    /// A `/v1` streaming client that goes away mid-stream frees its slot.
    @Test func aClientThatLeavesMidStreamGivesItsSlotBack() async throws {
        try await TestHarness.withUpstream(configure: { $0.fairUse.maxGenerationsPerUser = 1 }) { harness, upstream in
            try await harness.addWorkspace("Team")
            await upstream.enqueue(VendorStream.openAI(tokens: (0..<1000).map { "w\($0) " }).paced(.milliseconds(10)))
            try await harness.testLive { client in
                let port = try #require(client.port)
                let streaming = Countdown(1)
                try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask {
                        var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)/v1/chat/completions")
                        request.method = .POST
                        request.headers.add(name: "Content-Type", value: "application/json")
                        request.body = .bytes(ByteBuffer(string: #"{"model": "team", "stream": true, "messages": [{"role": "user", "content": "long"}]}"#))
                        let response = try await TestHarness.httpClient.execute(request, timeout: .seconds(30))
                        var body = response.body.makeAsyncIterator()
                        _ = try await body.next()
                        await streaming.arrive()
                        while try await body.next() != nil {}
                    }
                    await streaming.wait()
                    let busy = try await client.send(.post, "/v1/chat/completions",
                                                     json: #"{"model": "team", "messages": [{"role": "user", "content": "hi"}]}"#)
                    #expect(busy.status == .tooManyRequests)
                    group.cancelAll()  // the streaming client hangs up
                    try? await group.waitForAll()
                }
                var status = HTTPResponse.Status.tooManyRequests
                for _ in 0..<100 where status == .tooManyRequests {
                    status = try await client.send(.post, "/v1/chat/completions",
                                                   json: #"{"model": "team", "messages": [{"role": "user", "content": "hi"}]}"#).status
                    if status == .tooManyRequests { try await Task.sleep(for: .milliseconds(50)) }
                }
                #expect(status == .ok, "the slot came back when the client left")
            }
        }
    }
}
