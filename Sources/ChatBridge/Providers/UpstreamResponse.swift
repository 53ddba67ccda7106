import AsyncHTTPClient
import NIOCore
import NIOHTTP1
import Synchronization

/// One streaming upstream request, received through AsyncHTTPClient's delegate API so that no byte
/// the connection read is lost when the upstream then cuts the connection.
///
/// Why not `HTTPClientResponse.body`: AsyncHTTPClient (1.37) hands body bytes to its async
/// consumer only on demand (a high watermark of one buffer) and keeps what arrives meanwhile in
/// its connection state machine, which discards that buffer when the connection closes or fails.
/// An upstream that sent five tokens and closed lost 1–5 of them in 9 of 20 tries. This delegate
/// takes every part the moment the connection reads it — on the delegate's event loop, which the
/// transport asks to be the connection's (``EventLoopAffinity``; when the pool hands out a connection
/// on another loop, parts cross in order and are still taken at once) — and keeps them here until
/// the consumer reads them.
///
/// Back-pressure: past ``highWatermark`` buffered bytes (64 KiB: a long answer's worth of ordinary tokens) the connection stops reading until the
/// consumer catches up; only a consumer that far behind can still lose the tail of a cut stream.
/// AsyncHTTPClient also delivers at most 50 parts of one read synchronously; a single read with
/// more parts than that followed by a cut can lose parts after the 50th.
final class UpstreamResponse: HTTPClientResponseDelegate, Sendable {
    typealias Response = Void

    private struct State {
        var head: HTTPResponseHead?
        var headWaiter: CheckedContinuation<HTTPResponseHead, any Error>?
        var parts = CircularBuffer<ByteBuffer>()
        var bufferedBytes = 0
        var end: Result<Void, any Error>?
        var bodyWaiter: CheckedContinuation<ByteBuffer?, any Error>?
        /// Completed when the consumer drained the buffer below half the watermark.
        var paused: EventLoopPromise<Void>?
        /// Cancels the request if its body has not ended by then (``cancel(_:unlessEndedWithin:)``).
        var lateCancel: Scheduled<Void>?
    }

    private let state = Mutex(State())
    /// Buffered bytes beyond which the connection stops reading.
    let highWatermark: Int

    init(highWatermark: Int = 64 * 1024) {
        self.highWatermark = highWatermark
    }

    // MARK: Delegate (on the connection's event loop)

    func didReceiveHead(task: HTTPClient.Task<Void>, _ head: HTTPResponseHead) -> EventLoopFuture<Void> {
        let waiter = state.withLock { state in
            state.head = head
            defer { state.headWaiter = nil }
            return state.headWaiter
        }
        waiter?.resume(returning: head)
        return task.eventLoop.makeSucceededVoidFuture()
    }

    func didReceiveBodyPart(task: HTTPClient.Task<Void>, _ buffer: ByteBuffer) -> EventLoopFuture<Void> {
        let (waiter, pause) = state.withLock { state -> (CheckedContinuation<ByteBuffer?, any Error>?, EventLoopPromise<Void>?) in
            // A waiting consumer means the buffer is empty: hand the part over directly.
            if let waiter = state.bodyWaiter {
                state.bodyWaiter = nil
                return (waiter, nil)
            }
            state.parts.append(buffer)
            state.bufferedBytes += buffer.readableBytes
            guard state.bufferedBytes > highWatermark else { return (nil, nil) }
            let promise = task.eventLoop.makePromise(of: Void.self)
            state.paused = promise
            return (nil, promise)
        }
        waiter?.resume(returning: buffer)
        return pause?.futureResult ?? task.eventLoop.makeSucceededVoidFuture()
    }

    func didReceiveError(task: HTTPClient.Task<Void>, _ error: any Error) {
        end(.failure(error))
    }

    func didFinishRequest(task: HTTPClient.Task<Void>) throws {
        end(.success(()))
    }

    private func end(_ result: Result<Void, any Error>) {
        let (headWaiter, bodyWaiter, paused, lateCancel) = state.withLock { state in
            guard state.end == nil else {
                return (CheckedContinuation<HTTPResponseHead, any Error>?.none, CheckedContinuation<ByteBuffer?, any Error>?.none,
                        EventLoopPromise<Void>?.none, Scheduled<Void>?.none)
            }
            state.end = result
            defer {
                state.headWaiter = nil
                state.bodyWaiter = nil
                state.paused = nil
                state.lateCancel = nil
            }
            return (state.headWaiter, state.bodyWaiter, state.paused, state.lateCancel)
        }
        lateCancel?.cancel()
        switch result {
        case .success:
            headWaiter?.resume(throwing: HTTPClientError.remoteConnectionClosed)
            bodyWaiter?.resume(returning: nil)
        case .failure(let error):
            headWaiter?.resume(throwing: error)
            bodyWaiter?.resume(throwing: error)
        }
        paused?.succeed(())
    }

    /// Ends the response with `error` unless its head already arrived; whether it did end it.
    func failBeforeHead(_ error: any Error) -> Bool {
        guard state.withLock({ $0.head == nil }) else { return false }
        end(.failure(error))
        return true
    }

    /// Cancels `task` unless its body ends within `grace`: for a response whose consumer has read the
    /// vendor's end marker and let go, so the few bytes still owed (the chunked body's terminator) can
    /// arrive and the connection goes back to the pool instead of being closed mid-response.
    func cancel(_ task: HTTPClient.Task<Void>, unlessEndedWithin grace: TimeAmount) {
        state.withLock { state in
            guard state.end == nil, state.lateCancel == nil else { return }
            state.lateCancel = task.eventLoop.scheduleTask(in: grace) { task.cancel() }
        }
    }

    // MARK: Consumer

    /// The response head, once it arrived.
    func head() async throws -> HTTPResponseHead {
        try await withCheckedThrowingContinuation { continuation in
            let now = state.withLock { state -> Result<HTTPResponseHead, any Error>? in
                if let head = state.head { return .success(head) }
                switch state.end {
                case .failure(let error)?: return .failure(error)
                case .success?: return .failure(HTTPClientError.remoteConnectionClosed)
                case nil:
                    state.headWaiter = continuation
                    return nil
                }
            }
            if let now { continuation.resume(with: now) }
        }
    }

    /// The next body part in order; `nil` at the end of the body; throws the connection's error
    /// only after every part received before it.
    func nextPart() async throws -> ByteBuffer? {
        try await withCheckedThrowingContinuation { continuation in
            let (now, resume) = state.withLock { state -> (Result<ByteBuffer?, any Error>?, EventLoopPromise<Void>?) in
                if let part = state.parts.popFirst() {
                    state.bufferedBytes -= part.readableBytes
                    var resume: EventLoopPromise<Void>?
                    if state.bufferedBytes <= highWatermark / 2 {
                        resume = state.paused
                        state.paused = nil
                    }
                    return (.success(part), resume)
                }
                switch state.end {
                case .success?: return (.success(nil), nil)
                case .failure(let error)?: return (.failure(error), nil)
                case nil:
                    state.bodyWaiter = continuation
                    return (nil, nil)
                }
            }
            resume?.succeed(())
            if let now { continuation.resume(with: now) }
        }
    }
}

/// A started upstream request: its task and what it received. Releasing it (the event stream was
/// dropped) cancels the request, as dropping AsyncHTTPClient's response body would — unless the
/// vendor's end marker was read (``endMarkerArrived()``): then only the body's last bytes are owed,
/// and cancelling would close a connection the pool could reuse. Vendors send their marker
/// (`[DONE]`, `message_stop`) a write before the body's end, so a consumer that stops at the marker
/// usually lets go before the terminator arrived: every request then paid for a new connection
/// (connect and accept, a new channel on both sides). Such a call is cancelled only if its body has
/// not ended after `endGrace`.
final class UpstreamCall: Sendable {
    let task: HTTPClient.Task<Void>
    let response: UpstreamResponse
    private let endGrace: TimeAmount
    private let sawEndMarker = Atomic<Bool>(false)

    init(task: HTTPClient.Task<Void>, response: UpstreamResponse, endGrace: TimeAmount) {
        self.task = task
        self.response = response
        self.endGrace = endGrace
    }

    deinit {
        if sawEndMarker.load(ordering: .acquiring) {
            response.cancel(task, unlessEndedWithin: endGrace)
        } else {
            task.cancel()
        }
    }

    /// The consumer read the vendor's end marker: nothing but the body's end is still owed.
    func endMarkerArrived() {
        sawEndMarker.store(true, ordering: .releasing)
    }

    /// The head; cancelling the calling task cancels the request.
    func head() async throws -> HTTPResponseHead {
        try await withTaskCancellationHandler { try await response.head() } onCancel: { task.cancel() }
    }

    /// The next body part; cancelling the calling task cancels the request.
    func nextPart() async throws -> ByteBuffer? {
        try await withTaskCancellationHandler { try await response.nextPart() } onCancel: { task.cancel() }
    }

    /// The head, or `HTTPClientError.deadlineExceeded` (and a cancelled request) after `timeout`.
    /// The deadline is a timer on the connection's event loop, not a task racing the head.
    func head(within timeout: Duration) async throws -> HTTPResponseHead {
        let deadline = task.eventLoop.scheduleTask(in: .nanoseconds(timeout.nanoseconds)) { [response, task] in
            if response.failBeforeHead(HTTPClientError.deadlineExceeded) { task.cancel() }
        }
        defer { deadline.cancel() }
        return try await head()
    }

    /// The body as text, up to `limit` bytes (for error responses).
    func collectText(upTo limit: Int) async -> String {
        var collected = ByteBuffer()
        while collected.readableBytes < limit, let part = try? await nextPart() {
            var part = part
            collected.writeBuffer(&part)
        }
        task.cancel()
        return String(buffer: collected)
    }
}
