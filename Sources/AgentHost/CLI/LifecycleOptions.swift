import ArgumentParser
import Foundation

/// How the server stops (PROTOCOL §8): the bound on a SIGTERM/SIGINT shutdown.
struct LifecycleOptions: ParsableArguments {
    @Option(name: .customLong("shutdown-timeout"), help: "Seconds a SIGTERM/SIGINT shutdown may take: runs in flight are stopped and stored first, then HTTP drains; whatever is still open then is cut. Env: AGENTHOST_SHUTDOWN_TIMEOUT. Default: 3")
    var shutdownTimeout: Double?

    /// Flags first, then the environment, then defaults.
    func settings() throws -> LifecycleSettings {
        var settings = LifecycleSettings()
        let text = Environment.value("AGENTHOST_SHUTDOWN_TIMEOUT")
        if let seconds = try shutdownTimeout ?? text.map({ text -> Double in
            guard let value = Double(text) else {
                throw ValidationError("AGENTHOST_SHUTDOWN_TIMEOUT must be a number of seconds; got '\(text)'.")
            }
            return value
        }) {
            guard seconds > 0, seconds <= 3600 else { throw ValidationError("The shutdown timeout must be from 0 to 3600 seconds.") }
            settings.shutdownTimeout = .milliseconds(Int64((seconds * 1000).rounded()))
        }
        return settings
    }
}
