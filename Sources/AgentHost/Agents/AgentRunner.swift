import ChatBridge
import Logging
import ServiceLifecycle

/// Owns the tasks of agent runs: each run is a child task of this service, so runs outlive the
/// connection that started them but not the server. Server shutdown (``ShutdownSignal``, before
/// HTTP drains) cancels every live run, which stores what it has as `interrupted`; so does the
/// graceful shutdown of this service, for runs submitted after the signal.
struct AgentRunner: Service {
    let engine: AgentEngine
    let shutdown: ShutdownSignal
    private let jobs: AsyncStream<AgentRun>
    private let submissions: AsyncStream<AgentRun>.Continuation

    init(engine: AgentEngine, shutdown: ShutdownSignal = ShutdownSignal()) {
        self.engine = engine
        self.shutdown = shutdown
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
                        // A run waiting on client tools or approvals is interrupted too: nothing would
                        // let it continue after a restart until the durable run log (issue 12) keeps
                        // it `waiting`; that log will exempt such runs here and in StartupRepair.
                        await shutdown.cancellingOnShutdown { await engine.execute(run) }
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
