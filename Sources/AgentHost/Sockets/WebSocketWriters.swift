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
    private let writers: AsyncStream<OutboxWriter>
    private let continuation: AsyncStream<OutboxWriter>.Continuation

    init() {
        (writers, continuation) = AsyncStream.makeStream()
    }

    /// Starts `writer` in a task of this service.
    func start(_ writer: OutboxWriter) {
        continuation.yield(writer)
    }

    func run() async {
        await withDiscardingTaskGroup { group in
            for await writer in writers.cancelOnGracefulShutdown() {
                group.addTask { await writer.run() }
            }
        }
    }
}
