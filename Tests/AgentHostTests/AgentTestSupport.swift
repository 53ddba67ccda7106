import AgentHostTesting
import ChatBridge
import Foundation
import HummingbirdTesting
import HummingbirdWSTesting
import Logging
import NIOCore
import Testing
import WSClient

@testable import AgentHost

/// A test's end of an agent WebSocket: send frames, read frames in order.
final class TestSocket: @unchecked Sendable {
    // Used only from the connection handler's task.
    private var inbound: WebSocketInboundMessageStream.AsyncIterator
    private let outbound: WebSocketOutboundWriter
    /// Every frame received so far.
    private(set) var received: [JSONValue] = []

    init(inbound: WebSocketInboundStream, outbound: WebSocketOutboundWriter) {
        self.inbound = inbound.messages(maxSize: 1 << 26).makeAsyncIterator()
        self.outbound = outbound
    }

    func send(_ frame: JSONValue) async throws {
        try await outbound.write(.text(frame.serializedString))
    }

    func sendRaw(_ text: String) async throws {
        try await outbound.write(.text(text))
    }

    func sendBinary(_ bytes: [UInt8]) async throws {
        try await outbound.write(.binary(ByteBuffer(bytes: bytes)))
    }

    /// The next frame; fails the test if the socket closes.
    func next() async throws -> JSONValue {
        guard let message = try await inbound.next() else { throw SocketClosed() }
        guard case .text(let text) = message else { throw SocketClosed() }
        let frame = try JSONValue(parsing: text)
        received.append(frame)
        return frame
    }

    /// Reads frames until one of `type` arrives and returns it.
    func next(_ type: String) async throws -> JSONValue {
        while true {
            let frame = try await next()
            if frame["type"]?.stringValue == type { return frame }
        }
    }

    /// Reads frames up to and including `agent_complete`.
    func untilComplete() async throws -> JSONValue {
        try await next("agent_complete")
    }

    func close() async throws {
        try await outbound.close(.normalClosure, reason: nil)
    }

    struct SocketClosed: Error {}
}

extension TestClientProtocol {
    /// Connects to `ws/agent/{slug}/` and runs `body` with the socket.
    func agentSocket(_ slug: String, token: String? = nil, _ body: @escaping @Sendable (TestSocket) async throws -> Void) async throws {
        var logger = Logger(label: "ws-test")
        logger.logLevel = .warning
        var path = "/ws/agent/\(slug)/"
        if let token { path += "?token=\(token)" }
        try await ws(path, configuration: .init(maxFrameSize: 1 << 26), logger: logger) { inbound, outbound, _ in
            let socket = TestSocket(inbound: inbound, outbound: outbound)
            try await body(socket)
            try? await socket.close()
        }
    }
}

extension TestClientProtocol {
    /// Connects to `ws/chat/{slug}/` and runs `body` with the socket.
    func chatSocket(_ slug: String, thread: String? = nil, token: String? = nil,
                    _ body: @escaping @Sendable (TestSocket) async throws -> Void) async throws {
        var logger = Logger(label: "ws-test")
        logger.logLevel = .warning
        var query: [String] = []
        if let thread { query.append("thread=\(thread)") }
        if let token { query.append("token=\(token)") }
        let path = "/ws/chat/\(slug)/" + (query.isEmpty ? "" : "?" + query.joined(separator: "&"))
        try await ws(path, configuration: .init(maxFrameSize: 1 << 26), logger: logger) { inbound, outbound, _ in
            let socket = TestSocket(inbound: inbound, outbound: outbound)
            try await body(socket)
            try? await socket.close()
        }
    }
}

extension JSONValue {
    var type: String? { self["type"]?.stringValue }
}

enum AgentScripts {
    /// A model step that calls tools (OpenAI format).
    static func calls(_ calls: [(String, String, String)]) -> UpstreamScript {
        VendorStream.openAIToolCalls(calls.map { (id: $0.0, name: $0.1, arguments: $0.2) })
    }

    static func answer(_ text: String) -> UpstreamScript {
        VendorStream.openAI(tokens: text.split(separator: " ", omittingEmptySubsequences: false).enumerated().map {
            $0.offset == 0 ? String($0.element) : " " + $0.element
        })
    }
}
