import ArgumentParser
import Foundation

/// How the server stops (PROTOCOL §8): the bound on a SIGTERM/SIGINT shutdown.
struct LifecycleOptions: ParsableArguments {
    @Option(name: .customLong("shutdown-timeout"), help: "Seconds a SIGTERM/SIGINT shutdown may take: runs in flight are stopped and stored first, then HTTP drains; whatever is still open then is cut. Env: AGENTHOST_SHUTDOWN_TIMEOUT. Default: 3")
    var shutdownTimeout: Double?

    /// Flags first, then the environment, then defaults.
    func settings() throws -> LifecycleSettings {
        var settings = LifecycleSettings()
        if let seconds = try Environment.decimal(shutdownTimeout, "AGENTHOST_SHUTDOWN_TIMEOUT", above: 0, upTo: 3600,
                                                 flagName: "--shutdown-timeout") {
            settings.shutdownTimeout = .milliseconds(Int64((seconds * 1000).rounded()))
        }
        return settings
    }
}
