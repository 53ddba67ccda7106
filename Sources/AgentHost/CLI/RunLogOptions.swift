import ArgumentParser
import Foundation

/// The durable run log (PROTOCOL §8): how long the frames of finished runs are kept.
struct RunLogOptions: ParsableArguments {
    @Option(name: .customLong("run-log-retention"), help: "Days the frames of a finished run stay replayable (resume, GET …/events); its chat row and step log are kept for ever. Env: AGENTHOST_RUN_LOG_RETENTION. Default: 7")
    var retentionDays: Double?

    @Option(name: .customLong("run-log-batch-ms"), help: "Milliseconds frames may wait to be written to the run log in one batch (PROTOCOL §8 allows up to 100). Env: AGENTHOST_RUN_LOG_BATCH_MS. Default: 50")
    var batchMilliseconds: Int?

    /// Flags first, then the environment, then defaults.
    func settings() throws -> RunLogSettings {
        var settings = RunLogSettings()
        if let days = try Environment.decimal(retentionDays, "AGENTHOST_RUN_LOG_RETENTION", above: 0, upTo: 3650,
                                              flagName: "--run-log-retention") {
            settings.retention = .seconds(Int64((days * 86_400).rounded(.up)))
        }
        if let milliseconds = try Environment.integer(batchMilliseconds, "AGENTHOST_RUN_LOG_BATCH_MS", in: 1...100) {
            settings.batchInterval = .milliseconds(milliseconds)
        }
        return settings
    }
}
