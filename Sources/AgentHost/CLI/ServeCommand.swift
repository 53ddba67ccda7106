import ArgumentParser
import ChatBridge
import Foundation
import Hummingbird
import Logging
import ServiceLifecycle

/// `agenthost serve`: runs the HTTP and WebSocket server until SIGTERM or SIGINT.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run the server. Every flag can also be set with its AGENTHOST_* environment variable."
    )

    @Option(help: "Address to listen on. Env: AGENTHOST_HOST. Default: 127.0.0.1")
    var host: String?

    @Option(help: "Port to listen on. Env: AGENTHOST_PORT. Default: 8080")
    var port: Int?

    @OptionGroup var storage: StorageOptions
    @OptionGroup var database: DatabaseOptions

    @OptionGroup var documents: DocumentOptions

    @OptionGroup var queue: QueueOptions
    @OptionGroup var toolCalling: ToolCallingOptions
    @OptionGroup var security: SecurityOptions
    @OptionGroup var fairUse: FairUseOptions
    @OptionGroup var agentLimits: AgentLimitOptions
    @OptionGroup var chatSocket: ChatSocketOptions
    @OptionGroup var webSocket: WebSocketOptions
    @OptionGroup var lifecycle: LifecycleOptions
    @OptionGroup var runLog: RunLogOptions
    @OptionGroup var agui: AGUIOptions
    @OptionGroup var console: ConsoleOptions
    @OptionGroup var mcp: MCPOptions

    @Option(name: .customLong("jwt-secret"), help: "HMAC secret of session tokens, at least 32 bytes. Env: AGENTHOST_JWT_SECRET. Default: generated into <data-dir>/jwt-secret")
    var jwtSecret: String?

    @Option(name: .customLong("max-body-size"), help: "Largest accepted request body in bytes. Env: AGENTHOST_MAX_BODY_SIZE. Default: 4194304 (4 MiB)")
    var maxBodySize: Int?

    @Option(name: .customLong("log-level"), help: "trace, debug, info, notice, warning, error or critical. Env: AGENTHOST_LOG_LEVEL. Default: info")
    var logLevel: String?

    @Option(name: .customLong("llm-provider"), help: "openai (any OpenAI-compatible server), anthropic or cohere. Env: AGENTHOST_LLM_PROVIDER. Default: from a vendor API key in the environment, else the local model")
    var llmProvider: String?

    @Option(name: .customLong("llm-base-url"), help: "API root of the provider, e.g. http://127.0.0.1:8088/v1. Env: AGENTHOST_LLM_BASE_URL")
    var llmBaseURL: String?

    @Option(name: .customLong("llm-api-key"), help: "API key of the provider. Env: AGENTHOST_LLM_API_KEY")
    var llmAPIKey: String?

    @Option(name: .customLong("llm-model"), help: "Default model. Env: AGENTHOST_LLM_MODEL")
    var llmModel: String?

    @Option(name: .customLong("llm-idle-timeout"), help: "Seconds of upstream silence before a stream fails. Env: AGENTHOST_LLM_IDLE_TIMEOUT. Default: 60")
    var llmIdleTimeout: Int?

    @Option(name: .customLong("tool-schemas"), help: "Directory of the server tools' JSON schemas. Env: AGENTHOST_TOOL_SCHEMAS. Default: ./tool-schemas, else next to the build")
    var toolSchemas: String?

    @Flag(name: .customLong("allow-unauthenticated"), help: "Allow single-user mode (no users, no credentials) on a non-loopback address. Env: AGENTHOST_ALLOW_UNAUTHENTICATED=1")
    var allowUnauthenticated = false

    func run() async throws {
        // Before the configuration: the default connection limit follows the raised limit.
        FileDescriptorLimit.raiseToHardLimit()
        let configuration = try makeConfiguration()
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = configuration.logLevel
            return handler
        }
        let shutdown = ShutdownSignal()
        let logger = Logger(label: "agenthost")
        try await configuration.database.withStorage(dataDirectory: configuration.dataDirectory, logger: logger) { storage in
            let app = try await buildApplication(configuration: configuration, storage: storage, shutdown: shutdown)
            try await ServerLifecycle.run(app, shutdown: shutdown, settings: configuration.lifecycle, logger: logger)
        }
    }

    /// Flags first, then the environment, then defaults.
    func makeConfiguration() throws -> Configuration {
        var configuration = Configuration()
        configuration.host = host ?? Environment.value("AGENTHOST_HOST") ?? configuration.host
        if let port = try port ?? Environment.value("AGENTHOST_PORT").map({ try Self.integer($0, "AGENTHOST_PORT") }) {
            guard (0...65_535).contains(port) else { throw ValidationError("The port must be from 0 to 65535.") }
            configuration.port = port
        }
        configuration.dataDirectory = storage.directory
        configuration.jwtSecret = jwtSecret ?? Environment.value("AGENTHOST_JWT_SECRET")
        if let size = try maxBodySize ?? Environment.value("AGENTHOST_MAX_BODY_SIZE").map({ try Self.integer($0, "AGENTHOST_MAX_BODY_SIZE") }) {
            guard size >= 1024 else { throw ValidationError("The body size limit must be at least 1024 bytes.") }
            configuration.maxBodySize = size
        }
        if let level = logLevel ?? Environment.value("AGENTHOST_LOG_LEVEL") {
            guard let parsed = Logger.Level(rawValue: level) else {
                throw ValidationError("Unknown log level '\(level)'.")
            }
            configuration.logLevel = parsed
        }
        let providers = try Configuration.providers(
            kind: llmProvider ?? Environment.value("AGENTHOST_LLM_PROVIDER"),
            baseURL: llmBaseURL ?? Environment.value("AGENTHOST_LLM_BASE_URL"),
            apiKey: llmAPIKey ?? Environment.value("AGENTHOST_LLM_API_KEY"),
            model: llmModel ?? Environment.value("AGENTHOST_LLM_MODEL"),
            environment: ProcessInfo.processInfo.environment)
        configuration.llm = providers.default
        configuration.otherProviders = providers.others
        if let idle = try llmIdleTimeout ?? Environment.value("AGENTHOST_LLM_IDLE_TIMEOUT").map({ try Self.integer($0, "AGENTHOST_LLM_IDLE_TIMEOUT") }) {
            guard idle > 0 else { throw ValidationError("The idle timeout must be positive.") }
            configuration.llm.timeouts.idle = .seconds(idle)
        }
        try toolCalling.apply(to: &configuration.llm)
        configuration.toolSchemaDirectory = toolSchemas
        configuration.documents = try documents.settings()
        configuration.queue = try queue.settings(defaultProvider: configuration.llm)
        configuration.security = try security.settings()
        configuration.fairUse = try fairUse.settings()
        configuration.agent = try agentLimits.limits()
        configuration.chatSocket = try chatSocket.limits()
        configuration.webSocket = try webSocket.settings()
        configuration.lifecycle = try lifecycle.settings()
        configuration.runLog = try runLog.settings()
        configuration.agui = try agui.settings()
        configuration.console = try console.settings()
        configuration.mcp = try mcp.settings()
        configuration.database = try database.settings()
        configuration.allowUnauthenticated = allowUnauthenticated
            || ["1", "true", "yes"].contains(Environment.value("AGENTHOST_ALLOW_UNAUTHENTICATED")?.lowercased() ?? "")
        return configuration
    }

    private static func integer(_ text: String, _ name: String) throws -> Int {
        guard let value = Int(text) else { throw ValidationError("\(name) must be an integer; got '\(text)'.") }
        return value
    }
}
