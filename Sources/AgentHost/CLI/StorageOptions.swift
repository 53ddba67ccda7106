import ArgumentParser
import ChatBridge
import Foundation
import Logging

/// The data directory, shared by every command that touches storage.
package struct StorageOptions: ParsableArguments {
    @Option(name: .customLong("data-dir"), help: "Directory of the database and secrets. Env: AGENTHOST_DATA_DIR. Default: ./data")
    var dataDir: String?

    package init() {}

    package var directory: URL {
        URL(fileURLWithPath: dataDir ?? Environment.value("AGENTHOST_DATA_DIR") ?? "data", isDirectory: true)
    }

    /// The migrated database and a store over it.
    package func openStore() throws -> SQLiteStore {
        var logger = Logger(label: "agenthost")
        logger.logLevel = .warning
        return SQLiteStore(writer: try AppDatabase.openPool(directory: directory, logger: logger))
    }
}

enum Environment {
    static func value(_ name: String) -> String? {
        guard let value = ProcessInfo.processInfo.environment[name], !value.isEmpty else { return nil }
        return value
    }
}
