import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix

/// Turns one vendor's server-sent events into ``LLMEvent``s, keeping whatever state the format needs.
protocol StreamDecoder: Sendable {
    /// The events one SSE event carries; `nil` means the vendor signalled the end of the stream.
    mutating func decode(_ event: SSEEvent) throws -> [LLMEvent]?
    /// Events owed when the stream ends (closing tool calls, estimated usage). `complete` says
    /// whether the vendor's end marker arrived; a stream cut before it is an error, not an answer.
    mutating func finish(complete: Bool) throws -> [LLMEvent]
}

/// Sends a streaming request over AsyncHTTPClient with retries before the first byte, and exposes
/// the answer as a pull-based ``LLMEventStream``. The body is received through ``UpstreamResponse``,
/// so every event that arrived before a cut connection is delivered before the error.
struct StreamingTransport: Sendable {
    let client: HTTPClient
    let settings: ProviderSettings
    let logger: Logger
    /// A provider lives for one agent run (or one chat): its next step goes to the loop of its last.
    private let affinity = EventLoopAffinity()

    init(client: HTTPClient, settings: ProviderSettings, logger: Logger) {
        self.client = client
        self.settings = settings
        self.logger = logger
    }

    /// POSTs `body` to `url` and returns the decoded event stream once the upstream answered 2xx.
    func stream(url: String, headers: HTTPHeaders, body: [UInt8], decoder: some StreamDecoder) async throws -> LLMEventStream {
        let call = try await send(url: url, headers: headers, body: body)
        let kind = settings.kind.rawValue
        return LLMEventStream {
            let reader = EventReader(call: call, decoder: decoder, provider: kind)
            return { try await reader.next() }
        }
    }

    private func send(url: String, headers: HTTPHeaders, body: [UInt8]) async throws -> UpstreamCall {
        var attempt = 0
        var backoff = settings.retry.initialBackoff
        var requestHeaders = headers
        requestHeaders.replaceOrAdd(name: "content-type", value: "application/json")
        requestHeaders.replaceOrAdd(name: "accept", value: "text/event-stream")
        let request = try HTTPClient.Request(url: url, method: .POST, headers: requestHeaders, body: .bytes(body))
        while true {
            let outcome: Result<(UpstreamCall, HTTPResponseHead), any Error>
            do {
                let response = UpstreamResponse()
                // `.delegate(on:)`, not `.delegateAndChannel(on:)`: AsyncHTTPClient opens a connection for a
                // request pinned to a loop as an "overflow" connection and closes it as soon as it is idle, so
                // every request paid for a new connection. A preferred loop lets the pool park connections and
                // hand out any idle one, first one on that loop (the run's, see EventLoopAffinity), where the
                // delegate then runs on the connection's own loop (see UpstreamResponse).
                let task = client.execute(request: request, delegate: response,
                                          eventLoop: .delegate(on: affinity.loop(in: client.eventLoopGroup)), logger: logger)
                affinity.remember(task.eventLoop)
                let call = UpstreamCall(task: task, response: response, endGrace: .nanoseconds(settings.timeouts.idle.nanoseconds))
                outcome = .success((call, try await call.head(within: settings.timeouts.firstToken)))
            } catch {
                outcome = .failure(error)
            }
            let retryable: Bool
            var retryAfter: Duration?
            switch outcome {
            case .success(let (call, head)) where (200..<300).contains(head.status.code):
                return call
            case .success(let (call, head)):
                retryable = head.status.code == 429 || head.status.code >= 500
                // Bounded: an upstream's 0, negative or absurd value must neither hammer it nor stall the
                // provider's queue for ever (the queue gives up at its own timeout anyway).
                retryAfter = head.headers.first(name: "retry-after").flatMap(Int.init).map { .seconds(min(max($0, 1), 3600)) }
                // A throttling upstream with a stated pause: the provider's queue waits it out (ProviderQueue).
                if let retryAfter, head.status.code == 429 || head.status.code == 503 {
                    throw ProviderThrottled(retryAfter: retryAfter, error: await upstreamError(head, body: call))
                }
                if !retryable || attempt >= settings.retry.maxRetries {
                    throw await upstreamError(head, body: call)
                }
                call.task.cancel()
            case .failure(let error):
                if error is CancellationError || Task.isCancelled { throw CancellationError() }
                retryable = Self.isConnectionFailure(error)
                if !retryable || attempt >= settings.retry.maxRetries {
                    throw ProviderFailure.error(error, provider: settings.kind.rawValue, baseURL: settings.baseURL, logger: logger)
                }
            }
            attempt += 1
            let delay = min(retryAfter ?? backoff, settings.retry.maxBackoff)
            logger.warning("upstream retry", metadata: ["provider": "\(settings.kind.rawValue)", "attempt": "\(attempt)",
                                                        "delay_ms": "\(delay.milliseconds)"])
            try await Task.sleep(for: delay)
            backoff *= 2
        }
    }

    /// A `provider_error` naming the provider, the status and the vendor's own message.
    private func upstreamError(_ head: HTTPResponseHead, body: UpstreamCall) async -> APIError {
        let text = await body.collectText(upTo: 64 * 1024)
        var detail = text.trimmingCharacters(in: .whitespacesAndNewlines)
        if let json = try? JSONValue(parsing: text) {
            detail = json["error"]?["message"]?.stringValue ?? json["message"]?.stringValue ?? json["error"]?.stringValue ?? detail
        }
        if detail.count > 500 { detail = String(detail.prefix(500)) + "…" }
        // The provider's address stays in the log: users of a shared server need not know it.
        logger.warning("provider answered an error", metadata: [
            "provider": "\(settings.kind.rawValue)", "base_url": "\(settings.baseURL)", "status": "\(head.status.code)",
        ])
        return APIError(.providerError,
                        "The \(settings.kind.rawValue) provider answered HTTP \(head.status.code)"
                            + (detail.isEmpty ? "." : ": \(detail)"))
    }

    static func isConnectionFailure(_ error: any Error) -> Bool {
        if error is NIOConnectionError || error is IOError { return true }
        if let error = error as? HTTPClientError, error == .connectTimeout || error == .remoteConnectionClosed {
            return true
        }
        let text = String(describing: error).lowercased()
        return text.contains("connection refused") || text.contains("connectionrefused")
    }
}

/// Reads body chunks, parses SSE, decodes vendor events, and hands them out one at a time.
private final class EventReader<Decoder: StreamDecoder> {
    private let call: UpstreamCall
    private var parser = SSEParser()
    private var decoder: Decoder
    private var pending: [LLMEvent] = []
    private var pendingIndex = 0
    private var finished = false
    private let provider: String

    init(call: UpstreamCall, decoder: Decoder, provider: String) {
        self.call = call
        self.decoder = decoder
        self.provider = provider
    }

    /// An error that ends the stream once the events decoded before it are handed out.
    private var failure: (any Error)?

    func next() async throws -> LLMEvent? {
        while pendingIndex == pending.count {
            if let failure {
                self.failure = nil
                finished = true
                throw failure
            }
            if finished { return nil }
            pending.removeAll(keepingCapacity: true)
            pendingIndex = 0
            let chunk: ByteBuffer?
            do {
                chunk = try await call.nextPart()
            } catch is CancellationError {
                throw CancellationError()
            } catch {
                if Task.isCancelled { throw CancellationError() }
                // Every complete event before the cut was already decoded and handed out.
                throw APIError(.providerError, "\(provider) stream broke off: \(ProviderFailure.describe(error)).")
            }
            guard let chunk else {
                parser.finish()
                finished = true
                pending = try decoder.finish(complete: false)
                continue
            }
            do {
                for event in parser.parse(chunk.readableBytesView) {
                    guard let events = try decoder.decode(event) else {
                        finished = true
                        call.endMarkerArrived()
                        pending.append(contentsOf: try decoder.finish(complete: true))
                        break
                    }
                    pending.append(contentsOf: events)
                }
            } catch {
                // The events before the bad one (same chunk) are delivered first.
                failure = error
            }
        }
        defer { pendingIndex += 1 }
        return pending[pendingIndex]
    }
}

extension Duration {
    /// Whole nanoseconds, for APIs that take integers.
    public var nanoseconds: Int64 {
        components.seconds * 1_000_000_000 + components.attoseconds / 1_000_000_000
    }

    /// Fractional milliseconds, for logs and metrics.
    public var milliseconds: Double {
        Double(components.seconds) * 1000 + Double(components.attoseconds) / 1e15
    }
}
