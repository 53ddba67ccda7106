import ChatBridge
import Hummingbird
import NIOCore

/// `GET …/events?after_seq=N` for any run (PROTOCOL §3, §8): its frames after `N` as SSE (`id:` is
/// the `seq`), live through an ``Outbox`` while the run is live here or on another instance, else read from the log, the
/// same bytes either way.
struct RunEventStreams: Sendable {
    let locator: RunLocator
    var store: any RunLogStore { locator.store }
    let keepAliveInterval: Duration
    let outboundBuffer: Int

    /// Frames read from the log per query.
    static let pageSize = 256

    /// The stream of run `id` for `viewer`: 404 when it is neither in memory nor in the log (or not
    /// theirs to see), 403 for another user's run in memory.
    func response(runId id: String, after afterSeq: Int, viewer: Viewer, connection: any Channel) async throws -> Response {
        switch try await locator.locate(id, viewer: viewer) {
        case .live(let run):
            return watch(run, after: afterSeq, connection: connection)
        case .logged:
            return replay(runId: id, after: afterSeq)
        case .unknown:
            throw APIError.notFound("Run '\(id)' (its log is kept for --run-log-retention after it ends)")
        }
    }

    /// A live run's frames after `afterSeq`, then live until it ends; leaving the stream leaves the
    /// run as it is (an agent run waits for a resume).
    func watch(_ run: LiveRun, after afterSeq: Int, connection: any Channel) -> Response {
        let outbox = makeOutbox(for: connection)
        run.attach(outbox, after: afterSeq, endsWithRun: true)
        return write(outbox, of: run)
    }

    /// An outbox for one stream on `connection`, under the one outbound policy (``Outbox/sse(limit:on:grace:)``).
    func makeOutbox(for connection: any Channel) -> Outbox {
        Outbox.sse(limit: outboundBuffer, on: connection, grace: keepAliveInterval)
    }

    /// The SSE response writing `outbox`, which watches `run`.
    func write(_ outbox: Outbox, of run: LiveRun) -> Response {
        let keepAlive = keepAliveInterval
        return SSE.response { writer in
            defer { run.detach(outbox) }
            _ = try await SSE.write(outbox, keepAlive: keepAlive, to: &writer)
        }
    }

    /// A logged run's frames after `afterSeq`, a page at a time (each write awaited: a slow client
    /// reads at its pace).
    private func replay(runId: String, after afterSeq: Int) -> Response {
        let store = store
        return SSE.response { writer in
            var after = afterSeq
            var buffer = ByteBuffer()
            while true {
                let frames = try await store.frames(ofRun: runId, after: after, limit: Self.pageSize)
                buffer.clear()
                for frame in frames {
                    buffer.writeString("event: \(frame.type)\nid: \(frame.seq)\ndata: ")
                    buffer.writeString(frame.json)
                    buffer.writeString("\n\n")
                }
                if buffer.readableBytes > 0 { try await writer.write(buffer) }
                guard let last = frames.last, frames.count == Self.pageSize else { return }
                after = last.seq
            }
        }
    }
}

/// `GET /api/runs/{id}/events?after_seq=N`: any run's frames, a chat generation's too.
struct RunsController {
    let streams: RunEventStreams

    func addRoutes(to group: RouterGroup<AppRequestContext>) {
        group.get(":id/events", use: events)
    }

    @Sendable func events(_ request: Request, context: AppRequestContext) async throws -> Response {
        let principal = try context.identity()
        let afterSeq = try QueryParameters(request).int("after_seq", default: -1, range: -1...Int.max)
        return try await streams.response(runId: try context.parameters.require("id"), after: afterSeq, viewer: principal.viewer,
                                          connection: context.channel)
    }
}
