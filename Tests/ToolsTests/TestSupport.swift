import ChatBridge
import Foundation
import Testing
@testable import Tools

/// An in-memory database with one workspace, and contexts to run tools against it.
struct StoreFixture {
    let store: SQLiteStore
    let workspaceId: Int64

    init() async throws {
        store = SQLiteStore(writer: try AppDatabase.inMemory())
        let workspace = try await store.createWorkspace(Workspace(name: "W", slug: ""))
        workspaceId = try #require(workspace.id)
    }

    func context(viewer: Viewer = .singleUser, workspaceId: Int64? = nil,
                 now: @escaping @Sendable () -> Date = { Date() }) -> ToolContext {
        ToolContext(workspaceId: workspaceId ?? self.workspaceId, viewer: viewer, chats: store, notes: store, now: now)
    }

    /// A user and a non-admin viewer for them.
    func user(_ name: String) async throws -> Viewer {
        let user = try await store.createUser(User(username: name, passwordHash: "unused"))
        return Viewer(userId: user.id, isAdmin: false)
    }

    @discardableResult
    func chat(_ prompt: String, _ response: String, userId: Int64? = nil, workspaceId: Int64? = nil,
              status: Chat.Status = .completed) async throws -> Chat {
        try await store.beginChat(
            Chat(workspaceId: workspaceId ?? self.workspaceId, threadId: nil, userId: userId, prompt: prompt,
                 response: response, status: status),
            dailyLimit: nil, now: Date()
        )
    }
}

/// A fresh directory under the temporary directory, removed by `cleanUp()`.
struct TemporaryDirectory {
    let url: URL

    init() throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("ToolsTests-\(UUID().uuidString)", isDirectory: true)
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    func write(_ name: String, _ text: String) throws {
        let file = url.appendingPathComponent(name)
        try FileManager.default.createDirectory(at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data(text.utf8).write(to: file)
    }

    func cleanUp() {
        try? FileManager.default.removeItem(at: url)
    }
}

/// The repository's `tool-schemas` directory, found from this file's location.
let realSchemaDirectory = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent()  // ToolsTests
    .deletingLastPathComponent()  // Tests
    .deletingLastPathComponent()  // package root
    .appendingPathComponent("tool-schemas", isDirectory: true)

/// A tool that echoes its arguments, for registry tests.
struct EchoTool: Tool {
    var name: String
    func run(arguments: JSONValue, context: ToolContext) async throws -> JSONValue { arguments }
}

/// 2026-11-25T10:00:00Z, a Wednesday.
let fixedNow = Date(timeIntervalSince1970: 1_795_600_800)
