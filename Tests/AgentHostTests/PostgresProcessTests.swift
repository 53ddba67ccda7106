import AgentHostTesting
import ChatBridge
import Foundation
import Logging
import Testing

#if canImport(Glibc)
import Glibc
#endif

extension PostgresBacked {
    /// The `agenthost` executable itself on `--database-url` / `AGENTHOST_DATABASE_URL`.
    @Suite("agenthost on PostgreSQL")
    struct Process {
        @Test func migrateThenServeKeepsDataAcrossRestarts() async throws {
            let url = try await PostgresClusterTrait.cluster().createDatabase()
            // `agenthost migrate --database-url` creates the schema, and a second run finds nothing to do.
            let first = try Self.run(["migrate", "--database-url", url])
            #expect(first.status == 0 && first.output.contains("applied v1_schema"), "\(first.output)")
            let second = try Self.run(["migrate", "--database-url", url])
            #expect(second.status == 0 && second.output.contains("no migrations applied"), "\(second.output)")

            let directory = try ServerProcess.temporaryDataDirectory()
            defer { try? FileManager.default.removeItem(at: directory) }
            let server = try await ServerProcess.start(dataDirectory: directory, upstream: "http://127.0.0.1:9",
                                                       environment: ["AGENTHOST_DATABASE_URL": url])
            let created = try await server.request(.POST, "/api/workspaces/", json: ["name": "Kept"])
            #expect(created.status == 200 || created.status == 201)
            server.send(signal: SIGTERM)
            #expect(await server.waitForExit(timeout: .seconds(10))?.status == 0)
            // Nothing went to SQLite: the data directory holds no database.
            #expect(!FileManager.default.fileExists(atPath: directory.appendingPathComponent("agenthost.sqlite").path))

            let again = try await ServerProcess.start(dataDirectory: directory, upstream: "http://127.0.0.1:9",
                                                      environment: ["AGENTHOST_DATABASE_URL": url])
            defer { again.forceKill() }
            let list = try await again.request(.GET, "/api/workspaces")
            #expect(list.body["workspaces"]?.arrayValue?.map { $0["slug"] } == ["kept"], "\(list.body)")
            again.send(signal: SIGTERM)
            #expect(await again.waitForExit(timeout: .seconds(10))?.status == 0)

            // Accounts are managed in the same database.
            let added = try Self.run(["users", "add", "alice", "--password", "password123", "--role", "admin", "--database-url", url])
            #expect(added.status == 0, "\(added.output)")
            let suspended = try Self.run(["users", "suspend", "alice", "--database-url", url])
            #expect(suspended.status == 0, "\(suspended.output)")
            let users = try Self.run(["users", "list", "--database-url", url])
            #expect(users.output.contains("alice\tadmin") && users.output.contains("SUSPENDED"), "\(users.output)")
            let key = try Self.run(["api-keys", "create", "--name", "ci", "--database-url", url])
            #expect(key.status == 0, "\(key.output)")
            let keys = try Self.run(["api-keys", "list", "--database-url", url])
            #expect(keys.output.contains("\tci\t") && keys.output.contains("active"), "\(keys.output)")
            #expect(!FileManager.default.fileExists(atPath: directory.appendingPathComponent("agenthost.sqlite").path))
        }

        static func run(_ arguments: [String]) throws -> (status: Int32, output: String) {
            let process = Foundation.Process()
            process.executableURL = ServerProcess.executable
            process.arguments = arguments
            let pipe = Pipe()
            process.standardOutput = pipe
            process.standardError = pipe
            try process.run()
            let data = pipe.fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
            return (process.terminationStatus, String(decoding: data, as: UTF8.self))
        }
    }
}
