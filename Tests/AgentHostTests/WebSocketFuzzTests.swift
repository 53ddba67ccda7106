import AgentHostTesting
import ChatBridge
import Foundation
import Hummingbird
import HummingbirdTesting
import NIOCore
import Testing

@testable import AgentHost

/// Seeded random bad frames for either socket: random text, truncated JSON, oversize messages,
/// wrongly typed fields and binary frames. Every one must get exactly one `error` frame.
struct BadFrameGenerator {
    enum Socket { case chat, agent }

    enum Kind: CaseIterable {
        case randomText, truncated, oversized, wronglyTyped, binary

        /// The codes a frame of this kind may get.
        var codes: Set<String> {
            switch self {
            case .randomText: ["invalid_json", "validation_failed"]
            case .truncated, .binary: ["invalid_json"]
            case .oversized: ["too_large"]
            // APICoding reports some type mismatches (a number where a string belongs) as invalid_json.
            case .wronglyTyped: ["validation_failed", "unknown_type", "not_found", "invalid_json"]
            }
        }
    }

    enum Frame {
        case text(String)
        case binary([UInt8])
    }

    var random: SplitMix64
    let socket: Socket
    let limit: Int

    /// Valid frames, cut short for `truncated`.
    private var templates: [String] {
        switch socket {
        case .chat:
            [#"{"type":"chat","message":"hello there","mode":"chat"}"#, #"{"type":"typing","is_typing":true}"#, #"{"type":"ping"}"#,
             #"{"type":"feedback","chat_id":1,"feedback":true}"#, #"{"type":"resume","chat_id":"x","after_seq":3}"#]
        case .agent:
            [#"{"type":"agent_invoke","message":"hi","max_steps":2}"#, #"{"type":"ping"}"#,
             #"{"type":"tool_result","invocation_id":"a","call_id":"b","output":{"x":[1,2]}}"#,
             #"{"type":"approval","invocation_id":"a","call_id":"b","approved":true}"#]
        }
    }

    mutating func next() -> (Frame, Kind) {
        let kind = Kind.allCases[Int(random.next() % UInt64(Kind.allCases.count))]
        switch kind {
        case .randomText:
            // Printable ASCII that does not start an object (so it can never be a valid frame).
            let length = Int(random.next() % 64)
            var text = String(UnicodeScalar(UInt8(33 + random.next() % 90)))  // '!'...'z': never '{' (123) nor a space
            for _ in 0..<length { text.unicodeScalars.append(UnicodeScalar(UInt8(32 + random.next() % 95))) }
            return (.text(text), kind)
        case .truncated:
            let template = templates[Int(random.next() % UInt64(templates.count))]
            let cut = 1 + Int(random.next() % UInt64(template.count - 1))
            return (.text(String(template.prefix(cut))), kind)
        case .oversized:
            let size = limit + 1 + Int(random.next() % UInt64(limit))
            // `{"type":"ping","pad":""}` is 24 bytes: the frame is `size` bytes, over the limit.
            let padding = String(repeating: "p", count: size - 24)
            return (.text(#"{"type":"ping","pad":""# + padding + #""}"#), kind)
        case .binary:
            let length = Int(random.next() % 64)
            return (.binary((0..<length).map { _ in UInt8(truncatingIfNeeded: random.next()) }), kind)
        case .wronglyTyped:
            return (.text(wronglyTyped().serializedString), kind)
        }
    }

    /// A JSON value that is not a string (nor a bool, nor an integer).
    private mutating func notAString() -> JSONValue {
        switch random.next() % 4 {
        case 0: .number(Double(random.next() % 1000) + 0.5)
        case 1: .array([.number(1), .string("x")])
        case 2: .object(["nested": .bool(true)])
        default: .null
        }
    }

    private mutating func randomId() -> String {
        String(random.next(), radix: 16)
    }

    private mutating func wronglyTyped() -> JSONValue {
        let pick = random.next() % 4
        if pick == 0 { return ["type": notAString()] }
        if pick == 1 { return ["type": .string("x-" + randomId())] }
        switch socket {
        case .chat:
            switch random.next() % 5 {
            case 0: return ["type": "chat", "message": notAString()]
            case 1: return ["type": "typing", "is_typing": notAString()]
            case 2: return ["type": "feedback", "chat_id": notAString(), "feedback": true]
            case 3: return ["type": "cancel", "chat_id": random.next() % 2 == 0 ? notAString() : .string(randomId())]
            default: return ["type": "resume", "chat_id": random.next() % 2 == 0 ? notAString() : .string(randomId()), "after_seq": 0]
            }
        case .agent:
            switch random.next() % 5 {
            case 0: return ["type": "agent_invoke", "message": notAString()]
            case 1: return ["type": "tool_result", "invocation_id": .string(randomId()), "call_id": "c", "output": 1]
            case 2: return ["type": "approval", "invocation_id": notAString(), "call_id": "c", "approved": true]
            case 3: return ["type": "cancel", "invocation_id": random.next() % 2 == 0 ? notAString() : .string(randomId())]
            default: return ["type": "resume", "invocation_id": .string(randomId()), "after_seq": notAString()]
            }
        }
    }
}

extension WebSocketSuites {
@Suite("WebSocket frame fuzzer", .timeLimit(.minutes(4)))
struct WebSocketFuzzTests {
    /// Bad frames in total, half on each socket.
    static let total = 100_000
    /// Frames sent before their answers are read: under the outbound buffer (1024), so the
    /// answers never overflow it.
    static let window = 256
    static let messageLimit = 1024

    /// Sends `count` bad frames in windows and checks each gets one matching `error` frame.
    static func fuzz(_ socket: TestSocket, generator: inout BadFrameGenerator, count: Int) async throws -> [BadFrameGenerator.Kind: Int] {
        var seen: [BadFrameGenerator.Kind: Int] = [:]
        var sent = 0
        while sent < count {
            var kinds: [BadFrameGenerator.Kind] = []
            for _ in 0..<min(window, count - sent) {
                let (frame, kind) = generator.next()
                switch frame {
                case .text(let text): try await socket.sendRaw(text)
                case .binary(let bytes): try await socket.sendBinary(bytes)
                }
                kinds.append(kind)
            }
            for kind in kinds {
                let answer = try await socket.next()
                guard answer.type == "error", let code = answer["code"]?.stringValue, kind.codes.contains(code) else {
                    Issue.record("a \(kind) frame got \(answer.serializedString.prefix(200))")
                    return seen
                }
                seen[kind, default: 0] += 1
            }
            sent += kinds.count
            // Between windows, leave the (2-core) machine to the tests running beside this one, several
            // of which fail when their fake upstream is silent for 1 s.
            try await Task.sleep(for: .milliseconds(30))
        }
        return seen
    }

    @Test func oneHundredThousandBadFramesOnBothSocketsEachGetAnErrorAndTheSocketsStayUsable() async throws {
        try await TestHarness.withUpstream(configure: {
            $0.chatSocket.maxFrameBytes = Self.messageLimit
            $0.agent.maxFrameBytes = Self.messageLimit
            // The live test client opens its HTTP connection when the test starts and first sends on it
            // at the end (the health check); past the request-head deadline (--http-idle-timeout, 30 s)
            // the server rightly closes a connection that never sent a request, and a loaded machine
            // takes longer than that over 100,000 frames.
            $0.security.httpIdleTimeout = .seconds(600)
        }) { harness, upstream in
            try await harness.addWorkspace("Team")
            // The real chat and invoke at the end get the upstream's default answer, "ok".
            let started = ContinuousClock.now
            try await harness.testLive { client in
                let results = Tally()
                try await withThrowingTaskGroup(of: Void.self) { group in
                    // At background priority: 100,000 frames must not starve the suite's other tests
                    // (whose fake upstreams time out after 1 s of silence).
                    group.addTask(priority: .background) {
                        try await client.chatSocket("team") { socket in
                            _ = try await socket.next("connected")
                            var generator = BadFrameGenerator(random: SplitMix64(seed: 11), socket: .chat, limit: Self.messageLimit)
                            let seen = try await Self.fuzz(socket, generator: &generator, count: Self.total / 2)
                            try await socket.send(["type": "ping"])
                            #expect(try await socket.next().type == "pong")
                            try await socket.send(["type": "chat", "message": "are you there?"])
                            let complete = try await socket.next("chat_complete")
                            #expect(complete["response"] == "ok")
                            await results.add(seen.values.reduce(0, +))
                            #expect(seen.count == BadFrameGenerator.Kind.allCases.count, "every kind was sent: \(seen)")
                        }
                    }
                    group.addTask(priority: .background) {
                        try await client.agentSocket("team") { socket in
                            var generator = BadFrameGenerator(random: SplitMix64(seed: 29), socket: .agent, limit: Self.messageLimit)
                            let seen = try await Self.fuzz(socket, generator: &generator, count: Self.total / 2)
                            try await socket.send(["type": "ping"])
                            #expect(try await socket.next().type == "pong")
                            try await socket.send(AgentSocketTests.invoke("are you there?"))
                            let complete = try await socket.untilComplete()
                            #expect(complete["response"] == "ok")
                            await results.add(seen.values.reduce(0, +))
                            #expect(seen.count == BadFrameGenerator.Kind.allCases.count, "every kind was sent: \(seen)")
                        }
                    }
                    try await group.waitForAll()
                }
                let answered = await results.total
                #expect(answered == Self.total, "one error frame per bad frame")
                #expect(try await client.send(.get, "/api/health").status == .ok, "the server is still up")
            }
            let elapsed = ContinuousClock.now - started
            // A bound against hangs, not a performance assertion: ~37 s of CPU, 110 s wall on a loaded 2-core machine.
            #expect(elapsed < .seconds(200), "bounded: took \(elapsed)")
        }
    }
}
}

actor Tally {
    private(set) var total = 0
    func add(_ count: Int) { total += count }
}
