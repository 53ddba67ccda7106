import ChatBridge
import Hummingbird
import Logging
import ServiceLifecycle

/// Runs the server until SIGTERM or SIGINT, then stops it in the order of PROTOCOL §8: the
/// listener stops accepting and the runs in flight are cancelled and stored (``RunDrain``), then
/// HTTP drains (WebSockets get a close frame), all within ``LifecycleSettings/shutdownTimeout``
/// (runs get at most half of it: a run whose client stopped reading never gets its last frame out,
/// but it stored its outcome before sending it);
/// past it the group cancels what is still open, so a client that never reads or never answers a
/// close frame cannot hold the process.
enum ServerLifecycle {
    static func run(_ application: some ApplicationProtocol, shutdown: ShutdownSignal, settings: LifecycleSettings,
                    logger: Logger) async throws {
        // Reverse order on shutdown: RunDrain first, then the application (HTTP, then its own services).
        var configuration = ServiceGroupConfiguration(
            services: [.init(service: application),
                       .init(service: RunDrain(signal: shutdown, timeout: settings.shutdownTimeout / 2, logger: logger))],
            gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        configuration.maximumGracefulShutdownDuration = settings.shutdownTimeout
        try await ServiceGroup(configuration: configuration).run()
    }
}

/// Repairs what a killed process left in the database (PROTOCOL §8), before the server listens.
func repairAfterUnexpectedExit(_ storage: Storage, logger: Logger) async throws -> StartupRepair.Report {
    let report = try await storage.repair.repairUnfinishedRuns(now: Timestamp.now())
    if !report.isEmpty {
        logger.notice("repaired runs a stopped process left unfinished", metadata: [
            "interrupted_chats": "\(report.interruptedChats.count)",
            "interrupted_invocations": "\(report.interruptedInvocations.count)",
            "waiting_invocations": "\(report.waitingInvocations.count)",
        ])
    }
    return report
}
