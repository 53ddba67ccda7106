import ArgumentParser
import Foundation

/// Which database stores everything: the SQLite file in the data directory (default), or
/// PostgreSQL (PROTOCOL §9).
package struct DatabaseOptions: ParsableArguments {
    @Option(name: .customLong("database-url"), help: "Store everything in PostgreSQL instead of <data-dir>/agenthost.sqlite: postgres://USER:PASSWORD@HOST:PORT/DATABASE[?sslmode=disable|prefer|require]. Env: AGENTHOST_DATABASE_URL. Default: none (SQLite)")
    var databaseURL: String?

    @Option(name: .customLong("database-max-connections"), help: "Most connections this process opens to PostgreSQL. Env: AGENTHOST_DATABASE_MAX_CONNECTIONS. Default: 20")
    var maximumConnections: Int?

    package init() {}

    /// Flags first, then the environment, then defaults.
    package func settings() throws -> DatabaseSettings {
        var settings = DatabaseSettings()
        settings.url = databaseURL ?? Environment.value("AGENTHOST_DATABASE_URL")
        if let url = settings.url, !(url.hasPrefix("postgres://") || url.hasPrefix("postgresql://")) {
            throw ValidationError("--database-url must start with postgres:// or postgresql://.")
        }
        if let connections = try Environment.integer(maximumConnections, "AGENTHOST_DATABASE_MAX_CONNECTIONS", in: 1...1000) {
            settings.maximumConnections = connections
        }
        return settings
    }
}
