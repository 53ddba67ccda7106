import AgentHostTesting
import AsyncHTTPClient
import ChatBridge
import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import Testing
import Tools

@testable import AgentHost

/// A server over an in-memory database, with helpers to make users, tokens and keys.
struct TestHarness: Sendable {
    static let secret = "test-secret-that-is-long-enough-for-hmac-256"
    /// One client for the whole test process: a client must be shut down before it is released,
    /// and a static one never is.
    static let httpClient = Dependencies.makeHTTPClient(timeouts: .init(connect: .seconds(5), firstToken: .seconds(30), idle: .seconds(30)))
    /// A client with a 1 s idle timeout, for the tests of stalled upstreams.
    static let impatientClient = Dependencies.makeHTTPClient(timeouts: .init(connect: .seconds(2), firstToken: .seconds(5), idle: .seconds(1)))

    let dependencies: Dependencies
    let configuration: Configuration
    let authenticator: Authenticator
    /// Cheap scrypt parameters: tests check behaviour, not cost.
    let hasher = PasswordHasher(rounds: 1 << 10, blockSize: 8, parallelism: 1)

    var store: SQLiteStore { dependencies.chats as! SQLiteStore }

    /// Over `storage`, or an in-memory SQLite database when `nil`.
    init(storage: Storage? = nil, configure: (inout Configuration) -> Void = { _ in }) async throws {
        dependencies = Dependencies(storage: try storage ?? .sqlite(AppDatabase.inMemory()), httpClient: Self.httpClient,
                                    tools: try Self.tools())
        var configuration = Configuration()
        configuration.jwtSecret = Self.secret
        configuration.port = 0
        configure(&configuration)
        self.configuration = configuration
        authenticator = await Authenticator.make(
            accounts: dependencies.accounts, secret: Self.secret, tokenLifetime: configuration.tokenLifetime)
    }

    /// The built-in tools with the repository's schemas.
    static func tools() throws -> ToolRegistry {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        return try ToolRegistry(schemaDirectory: root.appendingPathComponent("tool-schemas"), tools: ToolRegistry.builtInTools())
    }

    func makeApplication() async throws -> some ApplicationProtocol {
        var logger = Logger(label: "test")
        logger.logLevel = .warning
        return try await buildApplication(configuration: configuration, dependencies: dependencies, logger: logger)
    }

    /// Runs `body` against the application through Hummingbird's in-process router client.
    func test<Value>(_ body: @Sendable (any TestClientProtocol) async throws -> Value) async throws -> Value {
        try await makeApplication().test(.router, body)
    }

    /// Runs `body` against the application served on a real loopback socket.
    func testLive<Value>(_ body: @Sendable (any TestClientProtocol) async throws -> Value) async throws -> Value {
        try await makeApplication().test(.live, body)
    }

    @discardableResult
    func addUser(_ name: String, role: User.Role = .default, password: String = "password123", dailyLimit: Int? = nil) async throws -> User {
        try await store.createUser(User(
            username: name, passwordHash: try hasher.hash(password), role: role, dailyMessageLimit: dailyLimit))
    }

    func token(for user: User, issuedAt: Date = Date()) async throws -> String {
        try await authenticator.issueToken(for: user, now: issuedAt)
    }

    func headers(for user: User) async throws -> HTTPFields {
        [.authorization: "Bearer \(try await token(for: user))"]
    }

    /// A new API key; returns its secret.
    func addAPIKey(name: String = "test", owner: User? = nil) async throws -> String {
        let secret = APIKeySecret.generate()
        _ = try await store.createAPIKey(APIKey(
            name: name, prefix: APIKeySecret.displayPrefix(secret), secretHash: APIKeySecret.hash(secret), userId: owner?.id))
        return secret
    }

    @discardableResult
    func addWorkspace(_ name: String = "Docs", configure: (inout Workspace) -> Void = { _ in }) async throws -> Workspace {
        var workspace = Workspace(name: name, slug: "")
        configure(&workspace)
        return try await store.createWorkspace(workspace)
    }

    /// Stores a finished chat directly, as the pipeline would.
    @discardableResult
    func addChat(
        workspace: Workspace, thread: ChatThread? = nil, user: User? = nil, prompt: String = "hi",
        response: String = "hello", sessionId: String? = nil
    ) async throws -> Chat {
        try await store.beginChat(Chat(
            workspaceId: workspace.id!, threadId: thread?.id, userId: user?.id, prompt: prompt, response: response,
            apiSessionId: sessionId, status: .completed), dailyLimit: nil, now: Date())
    }
}

extension TestClientProtocol {
    /// Sends a JSON body (or raw text) and returns the response.
    @discardableResult
    func send(
        _ method: HTTPRequest.Method, _ uri: String, headers: HTTPFields = [:], json: String? = nil
    ) async throws -> TestResponse {
        var headers = headers
        if json != nil { headers[.contentType] = "application/json" }
        return try await execute(uri: uri, method: method, headers: headers, body: json.map { ByteBuffer(string: $0) })
    }
}

extension TestResponse {
    var json: JSONValue {
        get throws { try JSONValue(parsing: body.readableBytesView) }
    }

    var text: String { String(buffer: body) }

    /// The contract error code of an error response.
    var errorCode: String? {
        (try? json)?["error"]?["code"]?.stringValue
    }
}

extension TestHarness {
    /// Runs `body` with a fake upstream and a harness whose default provider is that upstream.
    static func withUpstream<Value: Sendable>(
        storage: Storage? = nil,
        kind: ProviderSettings.Kind = .openai, configure: @escaping @Sendable (inout Configuration) -> Void = { _ in },
        _ body: @escaping @Sendable (TestHarness, FakeUpstream) async throws -> Value
    ) async throws -> Value {
        try await FakeUpstream.run(FakeUpstream()) { upstream in
            let base = await upstream.baseURL
            let harness = try await TestHarness(storage: storage) { configuration in
                configuration.llm = ProviderSettings(
                    kind: kind, baseURL: kind == .openai ? base + "/v1" : base, apiKey: "k", model: "fake-model",
                    timeouts: .init(connect: .seconds(2), firstToken: .seconds(5), idle: .seconds(1)),
                    retry: .init(maxRetries: 1, initialBackoff: .milliseconds(10)))
                // The fake speaks the vendors' native tool calls; prompted-mode tests opt in with `configure`.
                configuration.llm.toolCalling = .native
                configure(&configuration)
            }
            return try await body(harness, upstream)
        }
    }
}

extension TestResponse {
    /// The events of an SSE body.
    var events: [SSEEvent] {
        var parser = SSEParser()
        return parser.parse(body.readableBytesView)
    }

    /// The JSON frames of an SSE body.
    var frames: [JSONValue] {
        events.compactMap { try? JSONValue(parsing: $0.data) }
    }
}
