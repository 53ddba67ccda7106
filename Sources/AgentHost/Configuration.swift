import ChatBridge
import Foundation
import Logging
import Tools

/// Everything the server needs to start, resolved from flags, then `AGENTHOST_*` environment
/// variables, then defaults (PROTOCOL §7).
package struct Configuration: Sendable {
    static let defaultMaxBodySize = 4 * 1024 * 1024

    package var host = "127.0.0.1"
    package var port = 8080
    package var dataDirectory = URL(fileURLWithPath: "data", isDirectory: true)
    /// HMAC secret of session tokens; read from or generated into the data directory when `nil`.
    package var jwtSecret: String?
    var maxBodySize = Configuration.defaultMaxBodySize
    package var logLevel: Logger.Level = .info
    /// Serve without credentials on a non-loopback address in single-user mode.
    var allowUnauthenticated = false
    var tokenLifetime: TimeInterval = 7 * 86_400
    /// The server's default model provider.
    package var llm = ProviderSettings(kind: .openai, baseURL: Configuration.localModelURL, apiKey: nil, model: Configuration.localModelName)
    /// Providers a workspace may switch to besides the default (those with an API key in the environment).
    var otherProviders: [ProviderSettings] = []
    /// Limits of `ws/chat`.
    var chatSocket = ChatSocketLimits()
    /// Settings both WebSockets share (pings).
    var webSocket = WebSocketSettings()
    /// Limits of the agent engine.
    package var agent = AgentLimits()
    /// Caps on concurrent chat generations per user and per socket.
    package var fairUse = FairUseSettings()
    /// Where the server tools' schemas are; found automatically when `nil`.
    var toolSchemaDirectory: String?
    /// Comment lines keep an SSE stream alive through proxies while the model is silent.
    var keepAliveInterval: Duration = .seconds(15)
    /// Workspace documents: size limit, chunking, context budget and the optional embeddings provider.
    var documents = DocumentSettings()
    /// Per-provider concurrency limits and the queue in front of them.
    package var queue = QueueSettings()
    /// Browser boundary (origins, hosts), login throttling and connection deadlines.
    var security = SecuritySettings()
    /// How a SIGTERM/SIGINT shutdown is bounded.
    var lifecycle = LifecycleSettings()
    /// The durable run log (PROTOCOL §8).
    var runLog = RunLogSettings()
    /// The AG-UI endpoint (PROTOCOL §10).
    var agui = AGUISettings()
    /// The web console at `/` (PROTOCOL §11).
    var console = ConsoleSettings()
    /// MCP servers as tool sources: idle stop, call and start timeouts, restart back-off, servers per workspace.
    package var mcp = MCPSettings()
    /// SQLite in the data directory, or PostgreSQL (PROTOCOL §9).
    package var database = DatabaseSettings()

    /// Every setting at its default.
    package init() {}

    /// Where the README's run command starts the bundled local model.
    static let localModelURL = "http://127.0.0.1:8088/v1"
    static let localModelName = "Qwen2.5-Coder-1.5B-Instruct"

    /// Whether `host` only accepts connections from this machine.
    var listensOnLoopbackOnly: Bool {
        LoopbackAddress.contains(host)
    }

    /// Refuses to expose an unauthenticated (single-user) server beyond this machine (PROTOCOL §2).
    func checkExposure(hasUsers: Bool) throws {
        guard !hasUsers, !listensOnLoopbackOnly, !allowUnauthenticated else { return }
        throw ConfigurationError(
            "Refusing to listen on \(host) without authentication: no user exists, so anyone who can reach the "
                + "port would have full access. Create a user with `agenthost users add NAME --password P --role admin`, "
                + "listen on 127.0.0.1, or pass --allow-unauthenticated."
        )
    }

    /// The JWT secret: the configured one, else the one kept in `<data-dir>/jwt-secret`, created
    /// with 0600 permissions on first start.
    func resolvedJWTSecret() throws -> String {
        if let jwtSecret = try explicitJWTSecret() { return jwtSecret }
        let file = dataDirectory.appendingPathComponent("jwt-secret")
        if let existing = try? String(contentsOf: file, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines),
           existing.utf8.count >= 32 {
            return existing
        }
        try FileManager.default.createDirectory(at: dataDirectory, withIntermediateDirectories: true)
        let secret = Self.newJWTSecret()
        // A secret that could not be kept would sign everyone out at the next restart: refuse to start instead.
        guard FileManager.default.createFile(atPath: file.path, contents: Data(secret.utf8), attributes: [.posixPermissions: 0o600]) else {
            throw ConfigurationError("Could not write the JWT secret to \(file.path); pass --jwt-secret or make the data directory writable.")
        }
        return secret
    }

    /// The JWT secret every instance on a shared database uses (PROTOCOL §9): `--jwt-secret` when
    /// given, else the one stored in the database (made by the first instance), so a token any
    /// instance issued is valid on all.
    func resolvedJWTSecret(shared: any ClusterSecretStore) async throws -> String {
        if let jwtSecret = try explicitJWTSecret() { return jwtSecret }
        return try await shared.secret(named: "jwt", creatingWith: Self.newJWTSecret())
    }

    private func explicitJWTSecret() throws -> String? {
        guard let jwtSecret else { return nil }
        guard jwtSecret.utf8.count >= 32 else {
            throw ConfigurationError("The JWT secret must be at least 32 bytes long.")
        }
        return jwtSecret
    }

    /// 48 random bytes, Base64URL.
    static func newJWTSecret() -> String {
        var bytes = [UInt8](repeating: 0, count: 48)
        var generator = SystemRandomNumberGenerator()
        for index in bytes.indices { bytes[index] = generator.next() }
        return Base64URL.encode(bytes)
    }
}

extension Configuration {
    /// The default provider from `AGENTHOST_LLM_*` (PROTOCOL §7), else from a vendor key
    /// (`OPENAI_API_KEY`, `ANTHROPIC_API_KEY`, `COHERE_API_KEY`), else the bundled local model.
    static func providers(
        kind: String?, baseURL: String?, apiKey: String?, model: String?, environment: [String: String]
    ) throws -> (default: ProviderSettings, others: [ProviderSettings]) {
        let vendorKeys: [(ProviderSettings.Kind, String, String)] = [
            (.openai, "OPENAI_API_KEY", "gpt-4o-mini"),
            (.anthropic, "ANTHROPIC_API_KEY", "claude-3-5-haiku-latest"),
            (.cohere, "COHERE_API_KEY", "command-r-08-2024"),
        ]
        let available = vendorKeys.compactMap { kind, variable, model -> ProviderSettings? in
            guard let key = environment[variable], !key.isEmpty else { return nil }
            return ProviderSettings(kind: kind, baseURL: ProviderSettings.defaultBaseURL(for: kind), apiKey: key, model: model)
        }
        var chosen: ProviderSettings
        if let kind {
            guard let parsed = ProviderSettings.Kind(rawValue: kind) else {
                throw ConfigurationError("Unknown LLM provider '\(kind)'; use openai, anthropic or cohere.")
            }
            chosen = available.first { $0.kind == parsed }
                ?? ProviderSettings(kind: parsed, baseURL: ProviderSettings.defaultBaseURL(for: parsed), apiKey: nil, model: "")
        } else if baseURL == nil, let vendor = available.first {
            chosen = vendor
        } else {
            chosen = ProviderSettings(kind: .openai, baseURL: localModelURL, apiKey: nil, model: localModelName)
        }
        if let baseURL { chosen.baseURL = baseURL }
        if let apiKey { chosen.apiKey = apiKey }
        if let model { chosen.model = model }
        guard !chosen.model.isEmpty else {
            throw ConfigurationError("Set the model of provider '\(chosen.kind.rawValue)' with --llm-model or AGENTHOST_LLM_MODEL.")
        }
        guard chosen.baseURL.hasPrefix("http://") || chosen.baseURL.hasPrefix("https://") else {
            throw ConfigurationError("The LLM base URL must start with http:// or https://; got '\(chosen.baseURL)'.")
        }
        return (chosen, available.filter { $0.kind != chosen.kind })
    }
}

package struct ConfigurationError: Error, CustomStringConvertible {
    package let description: String
    package init(_ description: String) { self.description = description }
}
