import ArgumentParser
import Foundation

/// The durable run log (PROTOCOL §8): how long the frames of finished runs are kept.
struct RunLogOptions: ParsableArguments {
    @Option(name: .customLong("run-log-retention"), help: "Days the frames of a finished run stay replayable (resume, GET …/events); its chat row and step log are kept for ever. Env: AGENTHOST_RUN_LOG_RETENTION. Default: 7")
    var retentionDays: Double?

    /// Flags first, then the environment, then defaults.
    func settings() throws -> RunLogSettings {
        var settings = RunLogSettings()
        let text = Environment.value("AGENTHOST_RUN_LOG_RETENTION")
        if let days = try retentionDays ?? text.map({ text -> Double in
            guard let value = Double(text) else {
                throw ValidationError("AGENTHOST_RUN_LOG_RETENTION must be a number of days; got '\(text)'.")
            }
            return value
        }) {
            guard days > 0, days <= 3650 else { throw ValidationError("--run-log-retention must be from 0 to 3650 days.") }
            settings.retention = .seconds(Int64((days * 86_400).rounded(.up)))
        }
        return settings
    }
}
