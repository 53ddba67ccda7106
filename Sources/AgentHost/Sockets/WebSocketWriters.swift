import ServiceLifecycle
import Synchronization

/// Runs the writers of WebSocket connections (``OutboxWriter``) and their sessions (``WebSocketInbox``),
/// each only while its connection has something to send or to handle, as child tasks of this service.
///
/// An idle connection then has no task at all: a task costs an open connection its object,
/// its task group and the stack slabs of the deepest write it made (the Swift task allocator frees
/// slabs only when the task ends), about 4 KB per connection measured with heaptrack.
///
/// It is the first of the application's services, so it stops last: after the HTTP server (whose
/// connections are closed by then) and the runs, whose last frames it still writes.
final class WebSocketWriters: Service, Sendable {
    private let jobs: AsyncStream<@Sendable () async -> Void>
    private let continuation: AsyncStream<@Sendable () async -> Void>.Continuation
    private let unfinished = Atomic<Int>(0)

    init() {
        (jobs, continuation) = AsyncStream.makeStream()
    }

    /// Starts `writer` in a task of this service.
    func start(_ writer: OutboxWriter) {
        startTask { await writer.run() }
    }

    /// Runs `job` in a task of this service: a connection's session handling its messages
    /// (``WebSocketInbox``), again only while there is something to do.
    func startTask(_ job: @escaping @Sendable () async -> Void) {
        unfinished.add(1, ordering: .relaxed)
        continuation.yield(job)
    }

    /// Jobs started and not finished: none while every connection is idle.
    var unfinishedJobs: Int { unfinished.load(ordering: .relaxed) }

    func run() async {
        await withDiscardingTaskGroup { group in
            for await job in jobs.cancelOnGracefulShutdown() {
                group.addTask {
                    await job()
                    self.unfinished.subtract(1, ordering: .relaxed)
                }
            }
        }
    }
}
