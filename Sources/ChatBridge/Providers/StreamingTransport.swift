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
/// the answer as a pull-based ``LLMEventStream``.
struct StreamingTransport: Sendable {
    let client: HTTPClient
    let settings: ProviderSettings
    let logger: Logger

    /// POSTs `body` to `url` and returns the decoded event stream once the upstream answered 2xx.
    func stream(url: String, headers: HTTPHeaders, body: [UInt8], decoder: some StreamDecoder) async throws -> LLMEventStream {
        let response = try await send(url: url, headers: headers, body: body)
        let kind = settings.kind.rawValue
        return LLMEventStream {
            let reader = EventReader(body: response.body.makeAsyncIterator(), decoder: decoder, provider: kind)
            return { try await reader.next() }
        }
    }

    private func send(url: String, headers: HTTPHeaders, body: [UInt8]) async throws -> HTTPClientResponse {
        var attempt = 0
        var backoff = settings.retry.initialBackoff
        while true {
            var request = HTTPClientRequest(url: url)
            request.method = .POST
            request.headers = headers
            request.headers.replaceOrAdd(name: "content-type", value: "application/json")
            request.headers.replaceOrAdd(name: "accept", value: "text/event-stream")
            request.body = .bytes(ByteBuffer(bytes: body))
            let outcome: Result<HTTPClientResponse, any Error>
            do {
                let response = try await client.execute(
                    request, timeout: .nanoseconds(Int64(settings.timeouts.firstToken.nanoseconds)), logger: logger)
                outcome = .success(response)
            } catch {
                outcome = .failure(error)
            }
            let retryable: Bool
            var retryAfter: Duration?
            switch outcome {
            case .success(let response) where (200..<300).contains(response.status.code):
                return response
            case .success(let response):
                retryable = response.status.code == 429 || response.status.code >= 500
                retryAfter = response.headers.first(name: "retry-after").flatMap(Int.init).map { .seconds($0) }
                // A throttling upstream with a stated pause: the provider's queue waits it out (ProviderQueue).
                if let retryAfter, response.status.code == 429 || response.status.code == 503 {
                    throw ProviderThrottled(retryAfter: retryAfter, error: await upstreamError(response))
                }
                if !retryable || attempt >= settings.retry.maxRetries {
                    throw await upstreamError(response)
                }
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
    private func upstreamError(_ response: HTTPClientResponse) async -> APIError {
        let text = (try? await response.body.collect(upTo: 64 * 1024)).map { String(buffer: $0) } ?? ""
        var detail = text.trimmingCharacters(in: .whitespacesAndNewlines)
        if let json = try? JSONValue(parsing: text) {
            detail = json["error"]?["message"]?.stringValue ?? json["message"]?.stringValue ?? json["error"]?.stringValue ?? detail
        }
        if detail.count > 500 { detail = String(detail.prefix(500)) + "…" }
        // The provider's address stays in the log: users of a shared server need not know it.
        logger.warning("provider answered an error", metadata: [
            "provider": "\(settings.kind.rawValue)", "base_url": "\(settings.baseURL)", "status": "\(response.status.code)",
        ])
        return APIError(.providerError,
                        "The \(settings.kind.rawValue) provider answered HTTP \(response.status.code)"
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

    static func describe(_ error: any Error) -> String {
        ProviderFailure.describe(error)
    }
}

/// Reads body chunks, parses SSE, decodes vendor events, and hands them out one at a time.
private final class EventReader<Decoder: StreamDecoder> {
    private var body: HTTPClientResponse.Body.AsyncIterator
    private var parser = SSEParser()
    private var decoder: Decoder
    private var pending: [LLMEvent] = []
    private var pendingIndex = 0
    private var finished = false
    private let provider: String

    init(body: HTTPClientResponse.Body.AsyncIterator, decoder: Decoder, provider: String) {
        self.body = body
        self.decoder = decoder
        self.provider = provider
    }

    func next() async throws -> LLMEvent? {
        while pendingIndex == pending.count {
            if finished { return nil }
            pending.removeAll(keepingCapacity: true)
            pendingIndex = 0
            let chunk: ByteBuffer?
            do {
                chunk = try await body.next()
            } catch is CancellationError {
                throw CancellationError()
            } catch {
                if Task.isCancelled { throw CancellationError() }
                throw APIError(.providerError, "\(provider) stream broke off: \(StreamingTransport.describe(error)).")
            }
            guard let chunk else {
                parser.finish()
                finished = true
                pending = try decoder.finish(complete: false)
                continue
            }
            for event in parser.parse(chunk.readableBytesView) {
                guard let events = try decoder.decode(event) else {
                    finished = true
                    pending.append(contentsOf: try decoder.finish(complete: true))
                    break
                }
                pending.append(contentsOf: events)
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
