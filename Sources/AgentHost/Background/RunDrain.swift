import ChatBridge
import Logging
import ServiceLifecycle

/// The first step of a graceful shutdown: cancels every generation and agent run in flight, and
/// waits (bounded) until they have stored what they have as `interrupted`.
///
/// It must shut down before the HTTP server does: the server drains by waiting for open responses,
/// and an SSE stream or a run waiting on a client tool ends only once its run ends. A
/// `ServiceGroup` shuts services down in reverse order, so this goes after the application in
/// the group's list (see ``ServerLifecycle``).
struct RunDrain: Service {
    let signal: ShutdownSignal
    let timeout: Duration
    let logger: Logger

    func run() async throws {
        // Throws only when the group is cancelled, and then there is nothing left to drain into.
        try? await gracefulShutdown()
        let active = signal.activeRuns
        signal.trigger()
        let idle = await signal.waitUntilIdle(timeout: timeout)
        logger.info("runs stopped for shutdown", metadata: ["runs": "\(active)", "all_stored": "\(idle)"])
    }
}
