import ArgumentParser
import ChatBridge

/// `agenthost migrate`: brings the database schema up to date (the server also does this on start).
struct MigrateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "migrate", abstract: "Create or upgrade the database schema.")

    @OptionGroup var storage: StorageOptions

    func run() async throws {
        let store = try storage.openStore()
        print("Database at \(storage.directory.appendingPathComponent("agenthost.sqlite").path) is up to date "
              + "(\(try AppDatabase.pendingMigrations(store.writer).isEmpty ? "no pending migrations" : "pending migrations remain")).")
    }
}
