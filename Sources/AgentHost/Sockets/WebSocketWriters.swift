import ServiceLifecycle

/// Runs the writers of WebSocket connections (``OutboxWriter``), each only while its connection has
/// something to send, as child tasks of this service.
///
/// An idle connection then has no writer task at all: a task costs an open connection its object,
/// its task group and the stack slabs of the deepest write it made (the Swift task allocator frees
/// slabs only when the task ends), about 4 KB per connection measured with heaptrack.
///
/// It is the first of the application's services, so it stops last: after the HTTP server (whose
/// connections are closed by then) and the runs, whose last frames it still writes.
final class WebSocketWriters: Service, Sendable {
    private let jobs: AsyncStream<@Sendable () async -> Void>
    private let continuation: AsyncStream<@Sendable () async -> Void>.Continuation

    init() {
        (jobs, continuation) = AsyncStream.makeStream()
    }

    /// Starts `writer` in a task of this service.
    func start(_ writer: OutboxWriter) {
        continuation.yield { await writer.run() }
    }

    /// Runs `job` in a task of this service: a connection's session handling its messages
    /// (``WebSocketInbox``), again only while there is something to do.
    func run(_ job: @escaping @Sendable () async -> Void) {
        continuation.yield(job)
    }

    func run() async {
        await withDiscardingTaskGroup { group in
            for await job in jobs.cancelOnGracefulShutdown() {
                group.addTask { await job() }
            }
        }
    }
}
