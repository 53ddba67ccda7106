import ArgumentParser
import ChatBridge
import Foundation
import Logging

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

extension DatabaseOptions {
    /// Users and API keys of the configured database (PostgreSQL with `--database-url`, else the
    /// SQLite file of `storage`'s data directory), for the commands that manage accounts.
    func withAccounts<Result: Sendable>(
        storage: StorageOptions, _ body: @Sendable (any AccountStore) async throws -> Result
    ) async throws -> Result {
        let settings = try settings()
        guard let url = settings.url else { return try await body(try storage.openStore()) }
        var logger = Logger(label: "agenthost")
        logger.logLevel = .warning
        return try await PostgresDatabase.withRunning(url: url, maximumConnections: 2, logger: logger) { database in
            try await PostgresSchema.migrate(database)
            return try await body(PostgresStore(database: database))
        }
    }
}
