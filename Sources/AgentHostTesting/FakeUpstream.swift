import ChatBridge
import Foundation
import Hummingbird
import Logging
import ServiceLifecycle

/// The error a `.close` part ends its response with.
struct UpstreamCut: Error {}

/// A model server on a real loopback socket that answers from scripts, in the vendors' own wire
/// formats. Tests script it token by token; `agenthost-bench` uses it as a zero-delay upstream.
public actor FakeUpstream {
    /// What the upstream saw of one request.
    public struct Exchange: Sendable {
        /// The request path, e.g. `/v1/chat/completions`.
        public var path: String
        /// The request body as ``FakeUpstream/init(fallback:retainBody:parseBody:)`` kept it.
        public var body: JSONValue
        /// The request headers.
        public var headers: HTTPFields
        /// The client closed the connection before the scripted response was written out.
        public var abandoned = false
        /// The scripted response was written out to its end.
        public var completed = false
        /// When the whole request (head and body) had arrived.
        public var receivedAt: ContinuousClock.Instant = .now
        /// When the response was written out (or abandoned); `nil` while it streams.
        public var endedAt: ContinuousClock.Instant?
        /// The client's port: requests with the same port came on the same (reused) connection.
        public var clientPort: Int?
    }

    private var scripts: [UpstreamScript] = []
    private let fallback: @Sendable (JSONValue) -> UpstreamScript
    /// What is kept of each request body in ``exchanges``; the whole body when `nil`.
    private let retainBody: (@Sendable (JSONValue) -> JSONValue)?
    /// How a request body becomes the JSON that scripts and ``exchanges`` see; a full JSON parse when `nil`.
    nonisolated let parseBody: (@Sendable (ByteBuffer) -> JSONValue)?
    /// Every request so far, in arrival order.
    public private(set) var exchanges: [Exchange] = []
    private var portWaiters: [CheckedContinuation<Int, Never>] = []
    /// The bound port, once the server listens.
    public private(set) var port: Int?

    /// - Parameters:
    ///   - fallback: the answer when no script is queued.
    ///   - retainBody: what to keep of each request body in ``exchanges`` (the whole body when `nil`);
    ///     benchmarks keep a small key so thousands of requests do not inflate the process's memory.
    ///   - parseBody: how a request body becomes the JSON scripts see (a full parse when `nil`). Benchmarks
    ///     pass a cheaper extraction (or `.null`), so the fake's own JSON work does not eat the CPU it measures.
    public init(fallback: @escaping @Sendable (JSONValue) -> UpstreamScript = { _ in VendorStream.openAI(tokens: ["ok"]) },
                retainBody: (@Sendable (JSONValue) -> JSONValue)? = nil, parseBody: (@Sendable (ByteBuffer) -> JSONValue)? = nil) {
        self.fallback = fallback
        self.retainBody = retainBody
        self.parseBody = parseBody
    }

    /// While true, `POST /v1/embeddings` answers HTTP 500, as an embeddings provider that is down.
    public private(set) var embeddingsFailing = false
    /// Embeddings requests answered with 500.
    public private(set) var embeddingFailures = 0

    /// Makes `POST /v1/embeddings` fail (HTTP 500) or answer again.
    public func setEmbeddingsFailing(_ failing: Bool) {
        embeddingsFailing = failing
    }

    fileprivate func shouldFailEmbeddings() -> Bool {
        if embeddingsFailing { embeddingFailures += 1 }
        return embeddingsFailing
    }

    /// Queues answers for the next requests, in order.
    public func enqueue(_ scripts: UpstreamScript...) {
        self.scripts += scripts
    }

    /// `http://127.0.0.1:PORT`, once the server listens.
    public var baseURL: String {
        get async { "http://127.0.0.1:\(await boundPort())" }
    }

    /// The bound port; waits until the server listens.
    public func boundPort() async -> Int {
        if let port { return port }
        return await withCheckedContinuation { portWaiters.append($0) }
    }

    /// Waits until `count` exchanges have ended (completed or abandoned), for at most `timeout`.
    public func waitForEndedExchanges(_ count: Int, timeout: Duration = .seconds(5)) async -> [Exchange] {
        let deadline = ContinuousClock.now + timeout
        while exchanges.filter({ $0.abandoned || $0.completed }).count < count, ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(10))
        }
        return exchanges
    }

    fileprivate func started(path: String, body: JSONValue, headers: HTTPFields,
                             at receivedAt: ContinuousClock.Instant, clientPort: Int?) -> (Int, UpstreamScript) {
        exchanges.append(Exchange(path: path, body: retainBody.map { $0(body) } ?? body, headers: headers,
                                  receivedAt: receivedAt, clientPort: clientPort))
        let script = scripts.isEmpty ? fallback(body) : scripts.removeFirst()
        return (exchanges.count - 1, script)
    }

    fileprivate func ended(_ index: Int, abandoned: Bool, at endedAt: ContinuousClock.Instant) {
        if abandoned { exchanges[index].abandoned = true } else { exchanges[index].completed = true }
        exchanges[index].endedAt = endedAt
    }

    fileprivate func bound(to port: Int) {
        self.port = port
        for waiter in portWaiters { waiter.resume(returning: port) }
        portWaiters.removeAll()
    }

    /// Serves the upstream for the duration of `body`.
    public static func run<Value: Sendable>(
        _ upstream: FakeUpstream, _ body: @escaping @Sendable (FakeUpstream) async throws -> Value
    ) async throws -> Value {
        var logger = Logger(label: "fake-upstream")
        logger.logLevel = .critical
        let router = Router(context: FakeUpstreamContext.self)
        let handler: @Sendable (Request, FakeUpstreamContext) async throws -> Response = { request, context in
            let bytes = try await request.body.collect(upTo: 16 << 20)
            // Taken before parsing, so the fake's own JSON work is not counted against its client.
            let receivedAt = ContinuousClock.now
            let json = upstream.parseBody.map { $0(bytes) } ?? (try? JSONValue(parsing: bytes.readableBytesView)) ?? .null
            let (index, script) = await upstream.started(path: request.uri.path, body: json, headers: request.headers,
                                                         at: receivedAt, clientPort: context.clientPort)
            var headers: HTTPFields = [.contentType: script.status == 200 ? "text/event-stream" : "application/json"]
            for (name, value) in script.headers { headers[.init(name)!] = value }
            return Response(status: .init(code: script.status), headers: headers, body: ResponseBody { writer in
                do {
                    for part in script.parts {
                        switch part {
                        case .bytes(let text): try await writer.write(ByteBuffer(string: text))
                        case .pause(let duration): try await Task.sleep(for: duration)
                        case .stall: try await Task.sleep(for: .seconds(3600))
                        case .close:
                            // Ending the handler with an error makes the server close the connection
                            // without the chunked body's terminator, right after the writes before it.
                            throw UpstreamCut()
                        case .generated(let make): try await writer.write(ByteBuffer(string: make()))
                        }
                    }
                    try await writer.finish(nil)
                    await upstream.ended(index, abandoned: false, at: .now)
                } catch {
                    await upstream.ended(index, abandoned: true, at: .now)
                    throw error
                }
            })
        }
        for path in ["v1/chat/completions", "chat/completions", "v1/messages", "v2/chat"] {
            router.post(RouterPath(path), use: handler)
        }
        // OpenAI embeddings: deterministic vectors (ChatBridge's HashingEmbedder, 64 dimensions) for every input.
        router.post("v1/embeddings") { request, _ -> Response in
            let bytes = try await request.body.collect(upTo: 16 << 20)
            if await upstream.shouldFailEmbeddings() {
                return Response(status: .internalServerError, headers: [.contentType: "application/json"],
                                body: .init(byteBuffer: ByteBuffer(string: #"{"error": {"message": "model crashed"}}"#)))
            }
            let json = (try? JSONValue(parsing: bytes.readableBytesView)) ?? .null
            let inputs = json["input"]?.arrayValue?.compactMap(\.stringValue) ?? json["input"]?.stringValue.map { [$0] } ?? []
            let embedder = HashingEmbedder(dimensions: 64)
            let data: [JSONValue] = inputs.enumerated().map { index, text in
                ["object": "embedding", "index": .number(Double(index)),
                 "embedding": .array(embedder.vector(text).map { .number(Double($0)) })]
            }
            let body: JSONValue = ["object": "list", "data": .array(data), "model": json["model"] ?? "fake-embedding",
                                   "usage": ["prompt_tokens": 0, "total_tokens": 0]]
            return Response(status: .ok, headers: [.contentType: "application/json"],
                            body: .init(byteBuffer: ByteBuffer(bytes: body.serialized())))
        }
        let app = Application(
            router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0), backlog: 4096),
            onServerRunning: { channel in await upstream.bound(to: channel.localAddress?.port ?? 0) },
            logger: logger)
        return try await withThrowingTaskGroup(of: Value?.self) { group in
            group.addTask {
                try await app.run()
                return nil
            }
            group.addTask {
                _ = await upstream.boundPort()
                return try await body(upstream)
            }
            defer { group.cancelAll() }
            while let result = try await group.next() {
                if let result { return result }
            }
            throw CancellationError()
        }
    }
}
