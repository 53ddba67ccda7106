import ArgumentParser
import ChatBridge
import Foundation
import Logging
import Testing

@testable import AgentHost

@Suite("agenthost export")
struct ExportCommandTests {
    /// A real data directory holding a few chats in two workspaces.
    struct DataDirectory {
        let url: URL
        let store: SQLiteStore

        init() async throws {
            url = FileManager.default.temporaryDirectory.appendingPathComponent("agenthost-export-\(UUID())", isDirectory: true)
            try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
            store = SQLiteStore(writer: try AppDatabase.openPool(directory: url, logger: Logger(label: "test")))
            let docs = try await store.createWorkspace(Workspace(name: "Docs", slug: ""))
            let other = try await store.createWorkspace(Workspace(name: "Other", slug: ""))
            for index in 0..<7 {
                let chat = try await store.beginChat(
                    Chat(workspaceId: (index % 2 == 0 ? docs : other).id!, threadId: nil, userId: nil,
                         prompt: "Question \(index), with \"quotes\"\nand a second line", model: "m"),
                    dailyLimit: nil, now: Date())
                try await store.finishChat(id: chat.id!, outcome: ChatOutcome(
                    response: "=answer \(index) café", status: .completed, usage: Usage(promptTokens: 3, completionTokens: 4), model: "m"))
            }
        }

        func remove() { try? FileManager.default.removeItem(at: url) }
    }

    static func run(_ arguments: [String]) async throws {
        var command = try AgentHostCommand.parseAsRoot(arguments)
        guard var asyncCommand = command as? any AsyncParsableCommand else {
            try command.run()
            return
        }
        try await asyncCommand.run()
    }

    @Test(arguments: [ExportFormat.jsonl, .csv, .json])
    func writesTheSameBytesAsTheHTTPExport(_ format: ExportFormat) async throws {
        let data = try await DataDirectory()
        defer { data.remove() }
        let out = data.url.appendingPathComponent("chats.\(format.fileExtension)")
        try await Self.run(["export", "--data-dir", data.url.path, "--format", format.rawValue, "--workspace", "docs", "--out", out.path])

        // What POST /api/chats/export/ streams for the same filter (these formats carry no export time).
        var expected: [UInt8] = []
        let workspace = try #require(try await data.store.workspace(slug: "docs"))
        try await ChatExporter(source: data.store).export(
            format: format, filter: ExportFilter(workspaceId: workspace.id), viewer: .singleUser,
            metadata: ExportMetadata(generatedAt: Date(), filters: [("workspace", "docs")])) { expected += $0 }
        let written = try [UInt8](Data(contentsOf: out))
        #expect(written == expected)
        #expect(!written.isEmpty)
        #expect(!FileManager.default.fileExists(atPath: out.path + ".part"), "the partial file is renamed, not left behind")
        if format == .jsonl {
            #expect(String(decoding: written, as: UTF8.self).split(separator: "\n").count == 4, "the 4 chats of docs")
        }
    }

    @Test func badArgumentsAreClearErrorsAndWriteNothing() async throws {
        let data = try await DataDirectory()
        defer { data.remove() }
        let out = data.url.appendingPathComponent("x.json")
        for arguments in [["--format", "docx"], ["--format", "json", "--thread", "t"], ["--format", "json", "--to", "yesterday"],
                          ["--format", "json", "--workspace", "nope"]] {
            await #expect(throws: (any Error).self, "\(arguments)") {
                try await Self.run(["export", "--data-dir", data.url.path, "--out", out.path] + arguments)
            }
            #expect(!FileManager.default.fileExists(atPath: out.path))
            #expect(!FileManager.default.fileExists(atPath: out.path + ".part"))
        }
    }
}
