import ChatBridge
import Foundation
import Logging
import ServiceLifecycle

/// How long the log of a finished run is kept (`--run-log-retention`); its chat row and step log stay.
struct RunLogSettings: Sendable, Equatable {
    var retention: Duration = .seconds(7 * 24 * 3600)
    /// How long frames may wait to be written in a batch (PROTOCOL §8 allows 100 ms).
    var batchInterval: Duration = .milliseconds(50)
}

/// Owns every run's task, and the run log's writer (PROTOCOL §8).
///
/// A run is a child task of this service: it outlives the request or socket that started it but
/// not the server. Its ``LiveRun/cancellation`` cancels it (a client's `cancel`); server shutdown
/// (``ShutdownSignal``, before HTTP drains) cancels every run, which stores what it has. The log
/// writer runs until every run has ended, so their last frames are stored. A sweep deletes the
/// logs of runs that ended more than ``RunRetention/log`` ago.
struct RunService: Service {
    typealias Work = @Sendable () async -> Void

    let registry: RunRegistry
    let log: RunLogWriter
    let store: any RunLogStore
    let shutdown: ShutdownSignal
    let settings: RunLogSettings
    let logger: Logger
    private let jobs: AsyncStream<Job>
    private let submissions: AsyncStream<Job>.Continuation

    private struct Job: Sendable {
        let run: LiveRun
        let keepInMemory: Duration
        let forget: @Sendable () -> Void
        let work: Work
    }

    init(registry: RunRegistry, log: RunLogWriter, store: any RunLogStore, shutdown: ShutdownSignal, settings: RunLogSettings,
         logger: Logger) {
        self.registry = registry
        self.log = log
        self.store = store
        self.shutdown = shutdown
        self.settings = settings
        self.logger = logger
        (jobs, submissions) = AsyncStream.makeStream()
    }

    /// Registers `run` and executes `work` for it as a child task of this service. `work` is
    /// cancelled when the run's cancellation is requested or the server shuts down, and must then
    /// publish the run's end itself. The finished run stays in memory for `keepInMemory` for fast
    /// resumes; later ones replay from the log.
    func submit(_ run: LiveRun, keepInMemory: Duration, whenForgotten: @escaping @Sendable () -> Void = {},
                work: @escaping Work) {
        registry.insert(run)
        if case .terminated = submissions.yield(Job(run: run, keepInMemory: keepInMemory, forget: whenForgotten, work: work)) {
            // The server stopped taking runs (it is shutting down): this one never starts. Its streams
            // end now, and its stored row is repaired at the next start like any run a stop cut short.
            logger.warning("a run submitted while the server stops was not started", metadata: ["run_id": "\(run.id)"])
            run.suspend()
            registry.remove(run.id)
            whenForgotten()
        }
    }

    func run() async throws {
        await withDiscardingTaskGroup { background in
            background.addTask { await log.run() }
            background.addTask { await sweepLogs() }
            await withDiscardingTaskGroup { runs in
                await withGracefulShutdownHandler {
                    for await job in jobs {
                        runs.addTask { await execute(job) }
                    }
                } onGracefulShutdown: {
                    submissions.finish()
                }
                runs.cancelAll()
            }
            // Every run has ended: the log writer stores what is left and stops.
            background.cancelAll()
        }
    }

    private func execute(_ job: Job) async {
        let run = job.run
        // A cancel request or shutdown cancels the work; it stores what it has and publishes its end.
        await shutdown.cancellingOnShutdown(stopWhen: run.cancellation.whenRequested) { await job.work() }
        // Its end goes out with the next batch (a finished run's watchers already have it); only then
        // may the run leave memory, as replays then come from the log.
        await run.waitUntilLogged(urgent: false)
        // Keep the finished run for fast resumes, then serve it from the log.
        try? await Task.sleep(for: job.keepInMemory)
        registry.remove(run.id)
        job.forget()
    }

    private func sweepLogs() async {
        let every = min(settings.retention, .seconds(3600))
        while !Task.isCancelled {
            do {
                let cutoff = Date(timeIntervalSinceNow: -Double(settings.retention.components.seconds))
                let deleted = try await store.deleteLogs(endedBefore: cutoff)
                if deleted > 0 { logger.info("deleted expired run logs", metadata: ["runs": "\(deleted)"]) }
            } catch {
                logger.warning("deleting expired run logs failed", metadata: ["error": "\(error)"])
            }
            try? await Task.sleep(for: every)
        }
    }
}
