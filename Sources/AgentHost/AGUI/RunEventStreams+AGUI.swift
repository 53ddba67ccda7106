import ChatBridge
import Hummingbird
import NIOCore

/// AG-UI streams of agent runs, on the one run mechanism (``LiveRun`` watchers and their
/// ``Outbox``, the run log): the run's frames from the first, translated (``AGUITranslator``), each
/// AG-UI event written as `id: <n>` + `data: <json>` where `n` is its position in the run's AG-UI
/// stream; events up to `after` (a `Last-Event-ID` or `after_seq`) are translated but not sent.
extension RunEventStreams {
    /// Run `id`'s AG-UI stream for `viewer`, live while the run is live (here or on another instance), else from the log.
    /// 404 for a run that is neither (or not theirs to see, or not an agent run); 403 for another
    /// user's run in memory.
    func aguiResponse(runId id: String, after: Int, viewer: Viewer, connection: any Channel) async throws -> Response {
        switch try await locator.locate(id, viewer: viewer) {
        case .live(let run):
            guard run.record.kind == .agent else { throw APIError.notFound("Agent run '\(id)'") }
            let outbox = makeOutbox(for: connection)
            // From the first frame: the translation of a frame depends on those before it.
            run.attach(outbox, after: -1, endsWithRun: true)
            return aguiWrite(outbox, of: run, after: after)
        case .logged(let record) where record.kind == .agent:
            return aguiReplay(runId: id, after: after)
        case .logged, .unknown:
            throw APIError.notFound("Agent run '\(id)' (its log is kept for --run-log-retention after it ends)")
        }
    }

    /// The AG-UI stream of `run`, which `outbox` watches from its first frame.
    func aguiWrite(_ outbox: Outbox, of run: LiveRun, after: Int) -> Response {
        let keepAlive = keepAliveInterval
        let runId = run.id
        return SSE.response { writer in
            defer { run.detach(outbox) }
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    while true {
                        try await Task.sleep(for: keepAlive)
                        outbox.deliver(.keepAlive)
                    }
                }
                defer { group.cancelAll() }
                var stream = AGUIEventStream(runId: runId, after: after)
                var buffer = ByteBuffer()
                while let frames = await outbox.next() {
                    buffer.clear()
                    for frame in frames {
                        switch frame {
                        case .run(let frame): stream.encode(frame, into: &buffer)
                        case .keepAlive: buffer.writeString(": keep-alive\n\n")
                        case .message: break  // no connection frames on an AG-UI stream
                        }
                    }
                    if buffer.readableBytes > 0 { try await writer.write(buffer) }
                }
            }
        }
    }

    /// A logged run's AG-UI stream, read a page at a time (each write awaited).
    private func aguiReplay(runId: String, after: Int) -> Response {
        let store = store
        return SSE.response { writer in
            var stream = AGUIEventStream(runId: runId, after: after)
            var afterSeq = -1
            var buffer = ByteBuffer()
            while true {
                let frames = try await store.frames(ofRun: runId, after: afterSeq, limit: Self.pageSize)
                buffer.clear()
                for frame in frames { stream.encode(frame, into: &buffer) }
                if buffer.readableBytes > 0 { try await writer.write(buffer) }
                guard let last = frames.last, frames.count == Self.pageSize else { return }
                afterSeq = last.seq
            }
        }
    }
}

/// One run's AG-UI event sequence as SSE: numbers every event and writes those after `after`.
struct AGUIEventStream {
    private var translator: AGUITranslator
    private let after: Int
    /// The position of the next event in the run's AG-UI stream.
    private(set) var next = 0

    init(runId: String, after: Int) {
        translator = AGUITranslator(runId: runId, threadId: runId)
        self.after = after
    }

    mutating func encode(_ frame: RunFrame, into buffer: inout ByteBuffer) {
        guard let event = AgentEvent(frame: frame) else { return }
        for event in translator.translate(event) {
            defer { next += 1 }
            guard next > after else { continue }
            buffer.writeString("id: \(next)\ndata: ")
            buffer.writeString(event.json.serializedString)
            buffer.writeString("\n\n")
        }
    }
}
