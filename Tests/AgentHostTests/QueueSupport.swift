import AgentHostTesting
import AsyncHTTPClient
import ChatBridge
import Foundation
import NIOCore
import Testing

@testable import AgentHost

/// One SSE chat as a client on a real socket saw it.
struct LiveChatResult: Sendable {
    var status: Int
    var retryAfter: String?
    var frames: [JSONValue]
    /// The JSON body of a refusal (non-200).
    var errorBody: JSONValue?

    func frames(_ type: String) -> [JSONValue] { frames.filter { $0["type"]?.stringValue == type } }
}

enum QueueTestSupport {
    /// Posts one SSE chat to the server on `port` and reads the whole stream.
    static func streamChat(port: Int, message: String, headers: [(String, String)] = []) async throws -> LiveChatResult {
        var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)/api/chats/stream_chat/")
        request.method = .POST
        request.headers.add(name: "content-type", value: "application/json")
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        let body: JSONValue = ["message": .string(message), "workspace": "docs"]
        request.body = .bytes(ByteBuffer(bytes: body.serialized()))
        let response = try await TestHarness.httpClient.execute(request, timeout: .seconds(30))
        let bytes = try await response.body.collect(upTo: 1 << 22)
        guard response.status.code == 200 else {
            return LiveChatResult(status: Int(response.status.code), retryAfter: response.headers.first(name: "retry-after"),
                                  frames: [], errorBody: try? JSONValue(parsing: bytes.readableBytesView))
        }
        var parser = SSEParser()
        let frames = parser.parse(bytes.readableBytesView).compactMap { try? JSONValue(parsing: $0.data) }
        return LiveChatResult(status: 200, retryAfter: nil, frames: frames, errorBody: nil)
    }

    /// The last user message of an upstream request.
    static func prompt(_ exchange: FakeUpstream.Exchange) -> String? {
        exchange.body["messages"]?.arrayValue?.last { $0["role"] == "user" }?["content"]?.stringValue
    }

    /// A slow answer: `count` tokens, `pause` apart.
    static func slow(_ count: Int, _ pause: Duration) -> UpstreamScript {
        VendorStream.openAI(tokens: (0..<count).map { "t\($0) " }).paced(pause)
    }

    static func limit(_ n: Int, maxWaiting: Int = 256, timeout: Duration = .seconds(30)) -> @Sendable (inout Configuration) -> Void {
        {
            $0.queue = QueueSettings(maxConcurrency: [.openai: n], maxWaiting: maxWaiting, timeout: timeout)
            // Bursts here come from one user: the fair-use cap (a separate mechanism) must not refuse them first.
            $0.fairUse.maxGenerationsPerUser = 64
        }
    }
}
