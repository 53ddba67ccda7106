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

    @Option(name: .customLong("run-lease"), help: "With PostgreSQL: seconds a lease on a run holds without renewal; another instance takes over the runs of one that stopped (died) this long after its last renewal, plus at most --lease-sweep. Env: AGENTHOST_RUN_LEASE. Default: 10")
    var leaseSeconds: Int?

    @Option(name: .customLong("lease-sweep"), help: "With PostgreSQL: seconds between looks for runs whose lease expired. Env: AGENTHOST_LEASE_SWEEP. Default: 2")
    var sweepSeconds: Int?

    @Option(name: .customLong("forward-timeout-ms"), help: "With PostgreSQL: milliseconds a command for a run on another instance (tool result, approval, cancel) waits for that instance's answer before the client is told to retry (503 overloaded). Env: AGENTHOST_FORWARD_TIMEOUT_MS. Default: 2000")
    var forwardTimeoutMilliseconds: Int?

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
        if let seconds = try Environment.integer(leaseSeconds, "AGENTHOST_RUN_LEASE", in: 1...3600) {
            settings.cluster.leaseDuration = .seconds(seconds)
        }
        if let seconds = try Environment.integer(sweepSeconds, "AGENTHOST_LEASE_SWEEP", in: 1...3600) {
            settings.cluster.sweepInterval = .seconds(seconds)
        }
        if let milliseconds = try Environment.integer(forwardTimeoutMilliseconds, "AGENTHOST_FORWARD_TIMEOUT_MS", in: 10...600_000) {
            settings.cluster.forwardTimeout = .milliseconds(milliseconds)
        }
        return settings
    }
}

extension DatabaseOptions {
    /// Every store of the configured database (PostgreSQL with `--database-url`, else the SQLite
    /// file of `storage`'s data directory), migrated, for the commands that work on it directly.
    func withStorage<Result: Sendable>(
        storage: StorageOptions, _ body: @Sendable (Storage) async throws -> Result
    ) async throws -> Result {
        let settings = try settings()
        guard let url = settings.url else { return try await body(.sqlite(try storage.openStore().writer)) }
        var logger = Logger(label: "agenthost")
        logger.logLevel = .warning
        return try await PostgresDatabase.withRunning(url: url, maximumConnections: 2, logger: logger) { database in
            try await PostgresSchema.migrate(database)
            return try await body(.postgres(database))
        }
    }

    /// Users and API keys of the configured database, for the commands that manage accounts.
    func withAccounts<Result: Sendable>(
        storage: StorageOptions, _ body: @Sendable (any AccountStore) async throws -> Result
    ) async throws -> Result {
        try await withStorage(storage: storage) { try await body($0.accounts) }
    }
}
