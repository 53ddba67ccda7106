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

        /// `agenthost export` and `agenthost documents reembed` work on the PostgreSQL database too.
        @Test func exportAndReembedWorkOnTheDatabase() async throws {
            let url = try await PostgresClusterTrait.cluster().createDatabase()
            let directory = try ServerProcess.temporaryDataDirectory()
            defer { try? FileManager.default.removeItem(at: directory) }
            var logger = Logger(label: "postgres-test")
            logger.logLevel = .warning
            // Chats and a document without vectors, written as the server would.
            let expected: [UInt8] = try await PostgresDatabase.withRunning(url: url, maximumConnections: 2, logger: logger) { database in
                try await PostgresSchema.migrate(database)
                let storage = Storage.postgres(database)
                let docs = try await storage.chats.createWorkspace(Workspace(name: "Docs", slug: ""))
                let other = try await storage.chats.createWorkspace(Workspace(name: "Other", slug: ""))
                for index in 0..<5 {
                    let chat = try await storage.chats.beginChat(
                        Chat(workspaceId: (index % 2 == 0 ? docs : other).id!, threadId: nil, userId: nil,
                             prompt: "Question \(index), \"quoted\"", model: "m"), dailyLimit: nil, now: Date())
                    try await storage.chats.finishChat(id: chat.id!, outcome: ChatOutcome(
                        response: "answer \(index) café", status: .completed, usage: Usage(promptTokens: 1, completionTokens: 2), model: "m"))
                }
                _ = try await DocumentIngestor(store: storage.documents, settings: DocumentSettings(), embedder: nil)
                    .ingest(workspaceId: docs.id!, userId: nil, name: "owls.txt", mime: "text/plain", data: Array("Owls hunt at night.".utf8))
                var bytes: [UInt8] = []
                try await ChatExporter(source: storage.export).export(
                    format: .jsonl, filter: ExportFilter(workspaceId: docs.id), viewer: .singleUser,
                    metadata: ExportMetadata(generatedAt: Date(), filters: [("workspace", "docs")])) { bytes += $0 }
                return bytes
            }

            let out = directory.appendingPathComponent("chats.jsonl")
            let exported = try Self.run(["export", "--database-url", url, "--data-dir", directory.path, "--format", "jsonl",
                                         "--workspace", "docs", "--out", out.path])
            #expect(exported.status == 0 && exported.output.contains("Exported 3 chats"), "\(exported.output)")
            #expect(try [UInt8](Data(contentsOf: out)) == expected, "the same bytes as the HTTP export of the database")

            try await FakeUpstream.run(FakeUpstream()) { upstream in
                let reembedded = try Self.run(["documents", "reembed", "--database-url", url, "--data-dir", directory.path,
                                               "--embeddings-base-url", await upstream.baseURL + "/v1", "--embeddings-model", "fake-embed"])
                #expect(reembedded.status == 0 && reembedded.output.contains("Embedded 1 chunks with fake-embed"), "\(reembedded.output)")
            }
            let left = try await PostgresDatabase.withRunning(url: url, maximumConnections: 2, logger: logger) { database in
                try await PostgresDocumentStore(database: database).countChunksToEmbed(model: "fake-embed", all: false, workspaceId: nil)
            }
            #expect(left == 0, "the chunk's vector is stored in PostgreSQL")
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
