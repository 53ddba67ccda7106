import NIOCore
import Synchronization

/// Bytes on their way from a producer to one response writer, coalesced: the writer takes
/// everything queued in one write (one syscall for a burst of tokens instead of one per token),
/// and the producer waits while more than `limit` bytes are queued, so a slow client still slows it.
final class OutboundBuffer: Sendable {
    private struct State {
        var pending = ByteBuffer()
        var finished = false
        var reader: CheckedContinuation<ByteBuffer?, Never>?
        var producers: [CheckedContinuation<Void, Never>] = []
    }

    private let state = Mutex(State())
    private let limit: Int

    init(limit: Int = 64 * 1024) {
        self.limit = limit
    }

    /// Queues `bytes`; returns once the queue is back under the limit (at once when it is under).
    /// After ``finish()`` the bytes are dropped: nobody will write them.
    func send(_ bytes: ByteBuffer) async {
        enum Action { case none, resume(CheckedContinuation<ByteBuffer?, Never>, ByteBuffer), wait }
        var bytes = bytes
        let action: Action = state.withLock { state in
            guard !state.finished else { return .none }
            if state.pending.readableBytes == 0 {
                state.pending = bytes  // the common case: no copy
            } else {
                state.pending.writeBuffer(&bytes)
            }
            if let reader = state.reader {
                state.reader = nil
                let taken = state.pending
                state.pending = ByteBuffer()
                return .resume(reader, taken)
            }
            return state.pending.readableBytes > limit ? .wait : .none
        }
        switch action {
        case .none:
            return
        case .resume(let reader, let taken):
            reader.resume(returning: taken)
        case .wait:
            await withCheckedContinuation { continuation in
                let resumeNow = state.withLock { state -> Bool in
                    // Drained (or finished) between the check above and here: do not wait.
                    guard !state.finished, state.pending.readableBytes > limit else { return true }
                    state.producers.append(continuation)
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        }
    }

    /// Everything queued since the last call, waiting for bytes when there are none; `nil` once
    /// finished and drained. One reader at a time.
    func next() async -> ByteBuffer? {
        await withCheckedContinuation { continuation in
            let (result, producers): (ByteBuffer??, [CheckedContinuation<Void, Never>]) = state.withLock { state in
                if state.pending.readableBytes > 0 {
                    let taken = state.pending
                    state.pending = ByteBuffer()
                    let waiting = state.producers
                    state.producers = []
                    return (.some(taken), waiting)
                }
                if state.finished { return (.some(nil), []) }
                state.reader = continuation
                return (nil, [])
            }
            for producer in producers { producer.resume() }
            if let result { continuation.resume(returning: result) }
        }
    }

    /// No more bytes will be sent or written: the reader gets what is queued, then `nil`; waiting
    /// producers return.
    func finish() {
        let (reader, producers) = state.withLock { state in
            state.finished = true
            let reader = state.pending.readableBytes == 0 ? state.reader : nil
            if reader != nil { state.reader = nil }
            let producers = state.producers
            state.producers = []
            return (reader, producers)
        }
        reader?.resume(returning: nil)
        for producer in producers { producer.resume() }
    }
}
