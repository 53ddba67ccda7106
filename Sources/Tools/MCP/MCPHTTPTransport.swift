import AsyncHTTPClient
import ChatBridge
import Foundation
import Logging
import MCP
import NIOCore
import NIOHTTP1

/// MCP's streamable HTTP transport (spec 2025-11-25) over AsyncHTTPClient.
///
/// The SDK's `HTTPClientTransport` cannot read SSE answers on Linux (and hung after `initialize`
/// against the Python SDK's server), hence this one. Every message is a POST to the endpoint;
/// the answer is `202` (notifications), one JSON message, or an SSE stream of messages that ends
/// with the response. After `notifications/initialized` a GET stream carries what the server
/// sends on its own (e.g. `notifications/tools/list_changed`); a server without one answers `405`.
/// The session id the server assigns (`Mcp-Session-Id`) and the negotiated protocol version go
/// with every later request, as do the configured `headers` (authorization).
actor MCPHTTPTransport: Transport {
    /// A POST's answer may stream for as long as its tool runs; tool calls have their own limits.
    static let requestDeadline: TimeAmount = .minutes(65)
    /// Largest JSON answer read.
    static let maxBodyBytes = 16 << 20

    nonisolated let logger: Logger
    private let url: String
    private let headers: [String: String]
    private let client: HTTPClient
    private let messages: AsyncThrowingStream<Data, any Error>
    private let continuation: AsyncThrowingStream<Data, any Error>.Continuation
    private var isConnected = false
    private var sessionId: String?
    private var protocolVersion: String?
    /// The GET stream's reader; owned here and cancelled on disconnect.
    private var listener: Task<Void, Never>?

    init(url: String, headers: [String: String], client: HTTPClient, logger: Logger) {
        self.url = url
        self.headers = headers
        self.client = client
        self.logger = logger
        (messages, continuation) = AsyncThrowingStream.makeStream()
    }

    func connect() async throws {
        isConnected = true
    }

    func disconnect() async {
        guard isConnected else { return }
        isConnected = false
        listener?.cancel()
        listener = nil
        continuation.finish(throwing: MCPTransportError("disconnected"))
        if sessionId != nil {
            // Ends the session at the server; best effort.
            var request = makeRequest(method: .DELETE)
            request.headers.replaceOrAdd(name: "Accept", value: "application/json, text/event-stream")
            _ = try? await client.execute(request, deadline: .now() + .seconds(2))
        }
    }

    nonisolated func receive() -> AsyncThrowingStream<Data, any Error> {
        messages
    }

    func send(_ data: Data) async throws {
        guard isConnected else { throw MCPTransportError("not connected") }
        var request = makeRequest(method: .POST)
        request.headers.replaceOrAdd(name: "Content-Type", value: "application/json")
        request.headers.replaceOrAdd(name: "Accept", value: "application/json, text/event-stream")
        request.body = .bytes(ByteBuffer(bytes: data))
        let response: HTTPClientResponse
        do {
            response = try await client.execute(request, deadline: .now() + Self.requestDeadline)
        } catch {
            throw MCPTransportError("POST \(url) failed: \(error)")
        }
        if let session = response.headers.first(name: "Mcp-Session-Id") { sessionId = session }
        switch response.status.code {
        case 202:
            _ = try? await response.body.collect(upTo: 64 << 10)
        case 200..<300:
            if response.headers.first(name: "Content-Type")?.lowercased().contains("text/event-stream") == true {
                try await forwardEvents(of: response)
            } else {
                let body = try await response.body.collect(upTo: Self.maxBodyBytes)
                if body.readableBytes > 0 { deliver(Data(body.readableBytesView)) }
            }
        default:
            let body = (try? await response.body.collect(upTo: 4096)).map { String(buffer: $0) } ?? ""
            if response.status == .notFound, sessionId != nil {
                throw MCPTransportError("the server ended the session (404)")
            }
            throw MCPTransportError("POST \(url) answered \(response.status.code): \(body.prefix(300))")
        }
        if listener == nil, sessionId != nil, Self.method(of: data) == "notifications/initialized" {
            listener = Task { [weak self] in await self?.listen() }
        }
    }

    // MARK: Internals

    private func makeRequest(method: HTTPMethod) -> HTTPClientRequest {
        var request = HTTPClientRequest(url: url)
        request.method = method
        for (name, value) in headers.sorted(by: { $0.key < $1.key }) { request.headers.replaceOrAdd(name: name, value: value) }
        if let sessionId { request.headers.replaceOrAdd(name: "Mcp-Session-Id", value: sessionId) }
        if let protocolVersion { request.headers.replaceOrAdd(name: "MCP-Protocol-Version", value: protocolVersion) }
        return request
    }

    private func forwardEvents(of response: HTTPClientResponse) async throws {
        var parser = SSEParser()
        do {
            for try await buffer in response.body {
                for event in parser.parse(buffer.readableBytesView) { forward(event) }
            }
        } catch {
            throw MCPTransportError("reading the server's event stream failed: \(error)")
        }
        parser.finish()
    }

    private func forward(_ event: SSEEvent) {
        guard event.event == "message", !event.data.isEmpty else { return }
        deliver(Data(event.data.utf8))
    }

    private func deliver(_ message: Data) {
        if protocolVersion == nil, let json = try? JSONValue(parsing: message),
           let version = json["result"]?["protocolVersion"]?.stringValue {
            protocolVersion = version
        }
        continuation.yield(message)
    }

    /// Reads the GET stream until disconnect, opening it again after it ends.
    private func listen() async {
        var failures = 0
        while isConnected, !Task.isCancelled, failures < 5 {
            var request = makeRequest(method: .GET)
            request.headers.replaceOrAdd(name: "Accept", value: "text/event-stream")
            do {
                let response = try await client.execute(request, deadline: .now() + .hours(24))
                guard response.status == .ok else {
                    // 405: the server offers no stream of its own.
                    if response.status != .methodNotAllowed {
                        logger.debug("the MCP server's GET stream was refused", metadata: ["status": "\(response.status.code)"])
                    }
                    return
                }
                try await forwardEvents(of: response)
                failures = 0
            } catch {
                if Task.isCancelled { return }
                failures += 1
                logger.debug("the MCP server's GET stream failed", metadata: ["error": "\(error)"])
            }
            try? await Task.sleep(for: .seconds(1))
        }
    }

    private static func method(of message: Data) -> String? {
        (try? JSONValue(parsing: message))?["method"]?.stringValue
    }
}
