import Logging
import ServiceLifecycle

/// Owns background work that must outlive the request or socket that started it (agent runs,
/// chat generations watched by a room) but not the server. Each job is a child task of this
/// service; on graceful shutdown the queue closes and running jobs are cancelled, so they store
/// what they have and end.
struct JobRunner: Service {
    typealias Job = @Sendable () async -> Void

    private let jobs: AsyncStream<Job>
    private let submissions: AsyncStream<Job>.Continuation

    init() {
        (jobs, submissions) = AsyncStream.makeStream()
    }

    func submit(_ job: @escaping Job) {
        submissions.yield(job)
    }

    func run() async throws {
        await withDiscardingTaskGroup { group in
            await withGracefulShutdownHandler {
                for await job in jobs {
                    group.addTask { await job() }
                }
            } onGracefulShutdown: {
                submissions.finish()
            }
            group.cancelAll()
        }
    }
}
