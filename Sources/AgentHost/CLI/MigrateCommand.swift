import ArgumentParser
import ChatBridge
import Logging

/// `agenthost migrate`: brings the database schema up to date (the server also does this on start).
struct MigrateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "migrate", abstract: "Create or upgrade the database schema.")

    @OptionGroup var storage: StorageOptions
    @OptionGroup var database: DatabaseOptions

    func run() async throws {
        let settings = try database.settings()
        guard let url = settings.url else {
            let store = try storage.openStore()
            print("Database at \(storage.directory.appendingPathComponent("agenthost.sqlite").path) is up to date "
                  + "(\(try AppDatabase.pendingMigrations(store.writer).isEmpty ? "no pending migrations" : "pending migrations remain")).")
            return
        }
        var logger = Logger(label: "agenthost")
        logger.logLevel = .warning
        let (applied, pending) = try await PostgresDatabase.withRunning(url: url, maximumConnections: 2, logger: logger) { database in
            (try await PostgresSchema.migrate(database), try await PostgresSchema.pendingMigrations(database))
        }
        print("PostgreSQL database at \(PostgresDatabase.redacted(url)) is up to date "
              + "(\(applied.isEmpty ? "no migrations applied" : "applied \(applied.joined(separator: ", "))")"
              + "\(pending.isEmpty ? "" : "; pending migrations remain")).")
    }
}
