import ChatBridge
import Foundation
import Hummingbird
import HummingbirdWebSocket
import Logging
import Prometheus
import ServiceLifecycle

/// The composition root: opens storage and the provider client from the configuration and builds the server.
func buildApplication(configuration: Configuration) async throws -> some ApplicationProtocol {
    var logger = Logger(label: "agenthost")
    logger.logLevel = configuration.logLevel
    let database = try AppDatabase.openPool(directory: configuration.dataDirectory, logger: logger)
    let client = Dependencies.makeHTTPClient(timeouts: configuration.llm.timeouts)
    let dependencies = Dependencies(database: database, httpClient: client)
    do {
        try configuration.checkExposure(hasUsers: try await dependencies.accounts.hasUsers())
    } catch {
        try await client.shutdown()
        throw error
    }
    logger.info("model provider", metadata: [
        "provider": "\(configuration.llm.kind.rawValue)", "base_url": "\(configuration.llm.baseURL)",
        "model": "\(configuration.llm.model)",
    ])
    return try await buildApplication(configuration: configuration, dependencies: dependencies, logger: logger,
                                      services: [HTTPClientService(client: client)])
}

/// Builds the server over the given dependencies.
func buildApplication(
    configuration: Configuration, dependencies: Dependencies, logger: Logger, services: [any Service] = []
) async throws -> some ApplicationProtocol {
    let router = try await buildRouter(configuration: configuration, dependencies: dependencies, logger: logger)
    let address = "\(configuration.host):\(configuration.port)"
    return Application(
        router: router,
        configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "AgentHost"),
        services: services,
        onServerRunning: { channel in
            logger.info("AgentHost ready", metadata: [
                "address": "\(channel.localAddress?.description ?? address)",
                "data_dir": "\(configuration.dataDirectory.path)",
            ])
        },
        logger: logger
    )
}

/// All HTTP routes, behind the request and auth middleware.
func buildRouter(configuration: Configuration, dependencies: Dependencies, logger: Logger) async throws -> Router<AppRequestContext> {
    let authenticator = await Authenticator.make(
        accounts: dependencies.accounts,
        secret: try configuration.resolvedJWTSecret(),
        tokenLifetime: configuration.tokenLifetime
    )
    let metricsFactory = PrometheusMetricsFactory(registry: dependencies.metrics)
    let telemetry = ChatTelemetry(factory: metricsFactory, store: dependencies.chats, logger: logger)
    let pipeline = ChatPipeline(
        store: dependencies.chats,
        providers: ProviderCatalog(defaultSettings: configuration.llm, others: configuration.otherProviders,
                                   client: dependencies.httpClient, logger: logger),
        retriever: dependencies.retriever,
        telemetry: telemetry,
        logger: logger
    )

    let router = Router(context: AppRequestContext.self)
    router.add(middleware: RequestMiddleware(bodyLimit: configuration.maxBodySize, metrics: metricsFactory))
    HealthController().addRoutes(to: router.group("api"))
    MetricsController(registry: dependencies.metrics).addRoutes(to: router)
    AuthController(authenticator: authenticator).addRoutes(to: router.group("api/auth"))

    let api = router.group("api").add(middleware: AuthMiddleware(authenticator: authenticator))
    WorkspacesController(chats: dependencies.chats).addRoutes(to: api.group("workspaces"))
    let chats = api.group("chats")
    ChatsController(chats: dependencies.chats, accounts: dependencies.accounts).addRoutes(to: chats)
    StreamChatController(chats: dependencies.chats, pipeline: pipeline, keepAliveInterval: configuration.keepAliveInterval)
        .addRoutes(to: chats)
    WelcomeMessagesController(chats: dependencies.chats, accounts: dependencies.accounts)
        .addRoutes(to: api.group("welcome-messages"))

    let openAI = router.group("v1").add(middleware: AuthMiddleware(authenticator: authenticator))
    OpenAICompatibleController(chats: dependencies.chats, pipeline: pipeline, keepAliveInterval: configuration.keepAliveInterval)
        .addRoutes(to: openAI)
    return router
}
