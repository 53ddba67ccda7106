import ChatBridge
import Foundation
import Logging

/// Which database the server stores everything in (PROTOCOL §9).
package struct DatabaseSettings: Sendable {
    /// A `postgres://` URL selects PostgreSQL; `nil` is the SQLite file in the data directory.
    package var url: String?
    /// Most connections one process opens to PostgreSQL.
    package var maximumConnections = 20
    /// How instances on one PostgreSQL database share runs (PROTOCOL §9).
    var cluster = ClusterSettings()

    package init() {}

    /// Opens the configured backend, migrated, for `body`: SQLite in `dataDirectory`, or a
    /// PostgreSQL pool that runs for exactly as long as `body` does.
    package func withStorage<Result: Sendable>(
        dataDirectory: URL, logger: Logger, _ body: @Sendable (Storage) async throws -> Result
    ) async throws -> Result {
        guard let url else {
            return try await body(.sqlite(try AppDatabase.openPool(directory: dataDirectory, logger: logger)))
        }
        return try await PostgresDatabase.withRunning(url: url, maximumConnections: maximumConnections, logger: logger) { database in
            let applied = try await PostgresSchema.migrate(database)
            if !applied.isEmpty {
                logger.notice("migrated the PostgreSQL schema", metadata: ["applied": "\(applied.joined(separator: ", "))"])
            }
            return try await body(.postgres(database, leaseDuration: cluster.leaseDuration))
        }
    }
}
