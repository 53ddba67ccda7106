import Logging
import ServiceLifecycle

/// Owns the tasks of agent runs: each run is a child task of this service, so runs outlive the
/// connection that started them but not the server. On shutdown every live run is cancelled and
/// stores what it has.
struct AgentRunner: Service {
    let engine: AgentEngine
    private let jobs: AsyncStream<AgentRun>
    private let submissions: AsyncStream<AgentRun>.Continuation

    init(engine: AgentEngine) {
        self.engine = engine
        (jobs, submissions) = AsyncStream.makeStream()
    }

    /// Hands a started run over for execution.
    func submit(_ run: AgentRun) {
        submissions.yield(run)
    }

    func run() async throws {
        await withDiscardingTaskGroup { group in
            await withGracefulShutdownHandler {
                for await run in jobs {
                    group.addTask {
                        await engine.execute(run)
                        // Keep the finished run's frames replayable for late resumes, then forget it.
                        try? await Task.sleep(for: engine.limits.retention)
                        engine.registry.remove(run.invocation.id)
                    }
                }
            } onGracefulShutdown: {
                submissions.finish()
            }
            group.cancelAll()
        }
    }
}
