import ChatBridge
import Foundation
import Hummingbird
import HummingbirdWebSocket
import Logging
import Prometheus
import ServiceLifecycle
import Tools

/// The composition root over the SQLite file of the data directory.
func buildApplication(configuration: Configuration, shutdown: ShutdownSignal = ShutdownSignal()) async throws -> some ApplicationProtocol {
    let database = try AppDatabase.openPool(directory: configuration.dataDirectory, logger: Logger(label: "agenthost"))
    return try await buildApplication(configuration: configuration, storage: .sqlite(database), shutdown: shutdown)
}

/// The composition root: builds the server over `storage` and the provider client from the configuration.
/// `shutdown` is the signal ``ServerLifecycle`` triggers to stop the runs in flight.
func buildApplication(configuration: Configuration, storage: Storage, shutdown: ShutdownSignal = ShutdownSignal()) async throws -> some ApplicationProtocol {
    var logger = Logger(label: "agenthost")
    logger.logLevel = configuration.logLevel
    let client = Dependencies.makeHTTPClient(timeouts: configuration.llm.timeouts,
                                             connectionsPerHost: configuration.security.upstreamConnectionsPerHost)
    let tools: ToolRegistry
    do {
        tools = try ToolRegistry.builtIn(schemaDirectory: configuration.toolSchemaDirectory)
    } catch {
        try await client.shutdown()
        throw error
    }
    let metrics = PrometheusCollectorRegistry()
    let embeddingsQueue = configuration.queue.makeEmbeddingsQueue(metrics: PrometheusMetricsFactory(registry: metrics))
    let dependencies = Dependencies(
        storage: storage, httpClient: client, tools: tools,
        retriever: configuration.documents.makeRetriever(storage: storage, client: client, queue: embeddingsQueue),
        metrics: metrics)
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
                                      services: [HTTPClientService(client: client)], shutdown: shutdown)
}

/// Builds the server over the given dependencies.
package func buildApplication(
    configuration: Configuration, dependencies: Dependencies, logger: Logger, services: [any Service] = [],
    shutdown: ShutdownSignal = ShutdownSignal()
) async throws -> some ApplicationProtocol {
    // What a killed process left is repaired before the server listens; runs that waited on their
    // clients continue.
    let repair = try await repairAfterUnexpectedExit(dependencies.storage, logger: logger)
    let components = try await Components(configuration: configuration, dependencies: dependencies, logger: logger,
                                          shutdown: shutdown)
    await components.agentEngine.restoreWaitingRuns(repair.waitingInvocations)
    let router = components.httpRouter()
    let address = "\(configuration.host):\(configuration.port)"
    return Application(
        responder: RequestTaskResponder(responder: router.buildResponder()),
        server: .http1WebSocketUpgrade(
            webSocketRouter: components.webSocketRouter(),
            webSocket: .init(maxFrameSize: configuration.webSocketMaxFrameSize,
                             autoPing: .disabled),  // WebSocketKeepAliveHandler pings, without a task per connection
            idleTimeout: configuration.security.httpIdleTimeout,
            admission: ConnectionAdmission(limit: configuration.security.maxPendingConnections,
                                           hold: configuration.security.pendingConnectionHold,
                                           maxOpen: configuration.security.maxConnections, logger: logger)),
        // A backlog of 4096 (the default 256 overflowed when 1,000 clients connected at once, costing
        // each dropped client a 1 s SYN retransmit); the kernel caps it at net.core.somaxconn.
        configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "AgentHost",
                             backlog: 4096),
        // The MCP servers stop after the runs that use them (shutdown goes in reverse order).
        // The cluster releases this instance's leases after the runs have stopped.
        // The WebSocket writers stop last: the runs' last frames go out.
        services: [components.webSocketWriters] + services + [components.cluster].compactMap { $0 }
            + [components.mcpClients, components.runService, components.passwords],
        onServerRunning: { channel in
            logger.info("AgentHost ready", metadata: [
                "address": "\(channel.localAddress?.description ?? address)",
                "data_dir": "\(configuration.dataDirectory.path)",
                "storage": "\(dependencies.storage.backend)",
                "max_connections": "\(configuration.security.maxConnections)",
                "max_upstream_connections": "\(configuration.security.upstreamConnectionsPerHost)",
                "file_descriptor_limit": "\(FileDescriptorLimit.current)",
            ])
        },
        logger: logger
    )
}

/// The long-lived parts the routes share, built once from the dependencies.
struct Components: Sendable {
    let configuration: Configuration
    let dependencies: Dependencies
    let authenticator: Authenticator
    let metricsFactory: PrometheusMetricsFactory
    let pipeline: ChatPipeline
    let agentEngine: AgentEngine
    /// Owns every run's task (chat generations and agent invocations) and the run log's writer.
    let runService: RunService
    let runs = RunRegistry()
    /// Writes WebSocket connections' frames, in tasks that exist only while there is something to send.
    let webSocketWriters = WebSocketWriters()
    let chatRunner: ChatRunner
    let runStreams: RunEventStreams
    let roomBus: any RoomBus
    /// The other instances on the database (none on SQLite), and this one's part in the cluster.
    let peers: any ClusterPeers
    let cluster: ClusterService?
    /// Password hashing off the cooperative pool, and failed-login counts.
    let passwords: PasswordHashingPool
    let loginThrottle: LoginThrottle
    /// Fair use: caps on concurrent chat generations, shared by `ws/chat`, SSE and `/v1`.
    let generationSlots: GenerationSlots
    /// `GET /openapi.json`, encoded once.
    let openAPI: OpenAPIController
    /// The workspaces' MCP servers, whose tools agents get beside the built-in ones.
    let mcpClients: MCPClientManager

    init(configuration: Configuration, dependencies: Dependencies, logger: Logger,
         shutdown: ShutdownSignal = ShutdownSignal()) async throws {
        self.configuration = configuration
        self.dependencies = dependencies
        passwords = PasswordHashingPool(threads: configuration.security.passwordHashThreads)
        loginThrottle = LoginThrottle(settings: configuration.security, shared: dependencies.storage.cluster?.loginFailures)
        authenticator = await Authenticator.make(
            accounts: dependencies.accounts, secret: try await Self.jwtSecret(configuration, cluster: dependencies.storage.cluster),
            tokenLifetime: configuration.tokenLifetime, passwords: passwords)
        metricsFactory = PrometheusMetricsFactory(registry: dependencies.metrics)
        let providers = ProviderCatalog(defaultSettings: configuration.llm, others: configuration.otherProviders,
                                        client: dependencies.httpClient, logger: logger,
                                        queue: configuration.queue, metrics: metricsFactory)
        pipeline = ChatPipeline(
            store: dependencies.chats, providers: providers, retriever: dependencies.retriever,
            telemetry: ChatTelemetry(factory: metricsFactory, store: dependencies.chats, logger: logger), logger: logger,
            shutdown: shutdown)
        let backplane = dependencies.storage.cluster
        var announceProgress: (@Sendable (RunLogBatch) async -> Void)?
        if let backplane {
            // Other instances follow this one's runs through the log: tell them when it has new frames.
            announceProgress = { batch in
                await ClusterCoordinator.announceProgress(of: batch, from: backplane.leases.instanceId, over: backplane.channel,
                                                          logger: logger)
            }
        }
        let runLog = RunLogWriter(store: dependencies.runLog, interval: configuration.runLog.batchInterval, logger: logger,
                                  whenWritten: announceProgress)
        runService = RunService(registry: runs, log: runLog, store: dependencies.runLog, shutdown: shutdown,
                                settings: configuration.runLog, logger: logger)
        chatRunner = ChatRunner(pipeline: pipeline, runs: runService, keepInMemory: configuration.chatSocket.generationRetention)
        let localRooms = LocalRoomBus()
        let coordinator = backplane.map {
            ClusterCoordinator(backplane: $0, store: dependencies.runLog, log: runLog, settings: configuration.database.cluster,
                               logger: logger)
        }
        peers = coordinator ?? SingleInstance()
        roomBus = coordinator.map { ClusterRoomBus(local: localRooms, peers: $0) } ?? localRooms
        runStreams = RunEventStreams(locator: RunLocator(runs: runs, store: dependencies.runLog, peers: peers),
                                     keepAliveInterval: configuration.keepAliveInterval,
                                     outboundBuffer: configuration.chatSocket.outboundBuffer)
        mcpClients = MCPClientManager(settings: configuration.mcp, httpClient: dependencies.httpClient, logger: logger)
        agentEngine = AgentEngine(
            pipeline: pipeline, chats: dependencies.chats, invocations: dependencies.invocations, notes: dependencies.notes,
            providers: providers, tools: dependencies.tools,
            registry: InvocationRegistry(maxConcurrentPerUser: configuration.agent.maxConcurrentPerUser),
            runs: runService, runLog: dependencies.runLog, limits: configuration.agent, logger: logger,
            externalTools: mcpClients, peers: peers)
        if let coordinator {
            cluster = ClusterService(coordinator: coordinator, engine: agentEngine, runs: runs, repair: dependencies.storage.repair,
                                     rooms: localRooms, logger: logger)
        } else {
            cluster = nil
        }
        generationSlots = GenerationSlots(settings: configuration.fairUse)
        openAPI = try OpenAPIController()
    }

    /// Instances on one database share the secret their tokens are signed with.
    private static func jwtSecret(_ configuration: Configuration, cluster: ClusterBackplane?) async throws -> String {
        guard let cluster else { return try configuration.resolvedJWTSecret() }
        return try await configuration.resolvedJWTSecret(shared: cluster.secrets)
    }

    /// Every HTTP route, behind the request and auth middleware.
    func httpRouter() -> Router<AppRequestContext> {
        let router = Router(context: AppRequestContext.self)
        router.add(middleware: CORSMiddleware(policy: browserPolicy))
        router.add(middleware: RequestMiddleware(bodyLimit: configuration.maxBodySize, metrics: metricsFactory))
        router.add(middleware: BrowserBoundaryMiddleware(policy: browserPolicy, accounts: dependencies.accounts))
        if let console = consoleMiddleware() { router.add(middleware: console) }
        router.add(middleware: JSONBodyMiddleware())
        HealthController().addRoutes(to: router.group("api"))
        openAPI.addRoutes(to: router)
        MetricsController(registry: dependencies.metrics).addRoutes(to: router)
        AuthController(authenticator: authenticator, throttle: loginThrottle).addRoutes(to: router.group("api/auth"))

        let api = router.group("api").add(middleware: AuthMiddleware(authenticator: authenticator))
        WorkspacesController(chats: dependencies.chats, mcpLimits: configuration.mcp.serverLimits).addRoutes(to: api.group("workspaces"))
        WorkspaceToolsController(chats: dependencies.chats, engine: agentEngine).addRoutes(to: api.group("workspaces"))
        let chats = api.group("chats")
        ChatsController(chats: dependencies.chats, accounts: dependencies.accounts).addRoutes(to: chats)
        StreamChatController(chats: dependencies.chats, pipeline: pipeline, runner: chatRunner, slots: generationSlots,
                             keepAliveInterval: configuration.keepAliveInterval, outboundBuffer: configuration.chatSocket.outboundBuffer)
            .addRoutes(to: chats)
        WelcomeMessagesController(chats: dependencies.chats, accounts: dependencies.accounts)
            .addRoutes(to: api.group("welcome-messages"))
        addSearchAndExportRoutes(to: chats)
        addDocumentRoutes(to: api.group("workspaces"))
        AgentInvocationsController(engine: agentEngine, chats: dependencies.chats, invocations: dependencies.invocations,
                                   streams: runStreams)
            .addRoutes(to: api.group("agent/invocations"))
        RunsController(streams: runStreams).addRoutes(to: api.group("runs"))
        AGUIController(engine: agentEngine, chats: dependencies.chats, invocations: dependencies.invocations, streams: runStreams,
                       settings: configuration.agui)
            .addRoutes(to: api.group("agui"))

        let openAI = router.group("v1").add(middleware: AuthMiddleware(authenticator: authenticator))
        OpenAICompatibleController(chats: dependencies.chats, pipeline: pipeline, slots: generationSlots, runner: chatRunner,
                                   keepAliveInterval: configuration.keepAliveInterval, outboundBuffer: configuration.chatSocket.outboundBuffer)
            .addRoutes(to: openAI)
        return router
    }

    /// WebSocket routes: authenticated before the upgrade (PROTOCOL §2).
    func webSocketRouter() -> Router<AppRequestContext> {
        let router = Router(context: AppRequestContext.self)
        router.add(middleware: RequestMiddleware(bodyLimit: configuration.maxBodySize, metrics: metricsFactory))
        router.add(middleware: BrowserBoundaryMiddleware(policy: browserPolicy, accounts: dependencies.accounts))
        router.add(middleware: AuthMiddleware(authenticator: authenticator))
        AgentSocketController(engine: agentEngine, chats: dependencies.chats, webSocket: configuration.webSocket,
                              writers: webSocketWriters).addRoutes(to: router)
        ChatSocketController(chats: dependencies.chats, pipeline: pipeline, bus: roomBus, runner: chatRunner, runs: runs,
                             runLog: dependencies.runLog, slots: generationSlots, limits: configuration.chatSocket,
                             metrics: metricsFactory, peers: peers, webSocket: configuration.webSocket, writers: webSocketWriters)
            .addRoutes(to: router)
        return router
    }
}
