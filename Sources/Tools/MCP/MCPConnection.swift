import AsyncHTTPClient
import ChatBridge
import Foundation
import Logging
import MCP

/// One configured MCP server of one workspace: its process (stdio) or session (http), the SDK
/// client over it, its cached tool list and its failure back-off. Started on first use, stopped
/// when idle or at shutdown by the ``MCPClientManager`` that owns it.
actor MCPConnection {
    private struct Live {
        var client: Client
        var process: Process?
        var generation: Int
    }

    nonisolated let workspaceId: Int64
    nonisolated let configuration: MCPServerConfiguration
    private let settings: MCPSettings
    private let httpClient: HTTPClient
    private let logger: Logger
    /// Where a child's exit is reported; the manager's loop answers with ``processExited(generation:status:)``.
    private let exits: AsyncStream<MCPClientManager.Exit>.Continuation

    private var live: Live?
    private var starting: Task<Live, any Error>?
    /// The client of the start in progress: a child that exits while starting ends the start at
    /// once (its `initialize` would otherwise wait for the start timeout).
    private var startingClient: (generation: Int, client: Client)?
    private var generation = 0
    /// The server's tools as last listed; kept across restarts so a run can start without the server.
    private var cachedTools: [MCP.Tool]?
    /// Set by `notifications/tools/list_changed`: the next listing asks the server again.
    private var toolsChanged = false
    private var failures = 0
    private var retryAt: ContinuousClock.Instant?
    private var lastFailure: String?
    private(set) var lastUsed = ContinuousClock.now
    /// Calls and listings in progress: a server is never stopped for idleness in the middle of one.
    private var callsInFlight = 0

    /// Stops the server when it is running, has no call in progress and went unused for
    /// `idleStop`; whether it did. (Checked and stopped without a suspension in between, so no
    /// call can slip in.)
    func stopIfIdle(for idleStop: Duration) async -> Bool {
        guard live != nil, callsInFlight == 0, lastUsed.duration(to: .now) >= idleStop else { return false }
        await stop()
        return true
    }

    init(workspaceId: Int64, configuration: MCPServerConfiguration, settings: MCPSettings, httpClient: HTTPClient,
         logger: Logger, exits: AsyncStream<MCPClientManager.Exit>.Continuation) {
        self.workspaceId = workspaceId
        self.configuration = configuration
        self.settings = settings
        self.httpClient = httpClient
        var logger = logger
        logger[metadataKey: "mcp_server"] = "\(configuration.name)"
        logger[metadataKey: "workspace_id"] = "\(workspaceId)"
        self.logger = logger
        self.exits = exits
    }

    // MARK: Tools

    /// The server's tools: the cached list while it is valid, else listed (starting the server when
    /// needed; a server in back-off fails at once).
    func tools() async throws -> [MCP.Tool] {
        // Listing is use until it ends: a server whose start took most of `idleStop` must not be
        // stopped between the run listing its tools and calling one.
        beginUse()
        defer { endUse() }
        if let cachedTools, !(toolsChanged && live != nil) { return cachedTools }
        let live = try await running(waitingUpTo: nil)
        return try await listTools(live)
    }

    /// Calls `name`, for at most `timeout`. A timeout or the caller's cancellation cancels the
    /// request at the server (`notifications/cancelled`).
    func call(_ name: String, arguments: [String: Value], timeout: Duration) async -> ExternalToolResult {
        beginUse()
        defer { endUse() }
        let deadline = ContinuousClock.now + timeout
        let live: Live
        do {
            live = try await running(waitingUpTo: timeout)
        } catch {
            if Task.isCancelled { return Self.result("cancelled", .cancelled) }
            logger.warning("MCP server unavailable", metadata: ["error": "\(error)"])
            return Self.result("The MCP server '\(configuration.name)' is unavailable: \(error)", .failed)
        }
        let request: RequestContext<CallTool.Result>
        do {
            request = try await live.client.callTool(name: name, arguments: arguments)
        } catch {
            return Self.result("Calling '\(name)' on MCP server '\(configuration.name)' failed: \(error)", .failed)
        }
        let remaining = max(ContinuousClock.now.duration(to: deadline), .milliseconds(1))
        let outcome = await Self.race(remaining) { try await request.value } abandon: { reason in
            // Detached from cancellation: a cancelled run must still tell the server.
            await ChatPipeline.detachedFromCancellation {
                try? await live.client.cancelRequest(request.requestID, reason: reason)
            }
        }
        switch outcome {
        case .value(let result):
            return MCPResultMapping.result(result)
        case .timedOut:
            logger.warning("MCP tool call timed out; cancelled at the server", metadata: ["tool": "\(name)"])
            return Self.result("Tool '\(configuration.name)__\(name)' did not finish within \(timeout); it was cancelled.", .timedOut)
        case .cancelled:
            return Self.result("cancelled", .cancelled)
        case .failed(let error):
            if error is MCPTransportError || isDisconnect(error) {
                logger.warning("MCP server failed during a call", metadata: ["tool": "\(name)", "error": "\(error)"])
                await reset(live.generation, failure: "\(error)")
            }
            return Self.result("The MCP server '\(configuration.name)' failed: \(error)", .failed)
        }
    }

    /// A call or a listing begins: the server is not stopped for idleness while it lasts.
    private func beginUse() {
        callsInFlight += 1
    }

    /// It ended: idleness counts from now.
    private func endUse() {
        callsInFlight -= 1
        lastUsed = .now
    }

    // MARK: Lifecycle

    /// Stops the server (the manager's idle sweep and shutdown).
    func stop() async {
        starting?.cancel()
        guard let live else { return }
        self.live = nil
        await Self.shutDown(live, logger: logger)
        logger.info("MCP server stopped")
    }

    /// The child of `generation` exited: its client is dropped (pending calls fail at once) and
    /// the next start waits for the back-off.
    func processExited(generation: Int, status: Int32) async {
        if let startingClient, startingClient.generation == generation {
            logger.warning("MCP server exited while starting", metadata: ["status": "\(status)"])
            await startingClient.client.disconnect()
            return
        }
        guard let live, live.generation == generation else { return }
        logger.warning("MCP server exited", metadata: ["status": "\(status)"])
        await reset(generation, failure: "the server process exited with status \(status)")
    }

    private func reset(_ generation: Int, failure: String) async {
        guard let live, live.generation == generation else { return }
        self.live = nil
        recordFailure(failure)
        await Self.shutDown(live, logger: logger)
    }

    private func recordFailure(_ message: String) {
        failures += 1
        let exponent = min(failures - 1, 16)
        let delay = min(MCPSettings.firstBackoff * (1 << exponent), settings.restartBackoffCap)
        retryAt = .now + delay
        lastFailure = message
    }

    /// The live server, started when needed. In back-off, waits for it when it ends within `limit`,
    /// else fails at once.
    private func running(waitingUpTo limit: Duration?) async throws -> Live {
        if let live { return live }
        if let starting { return try await starting.value }
        if let retryAt, retryAt > .now {
            let remaining = ContinuousClock.now.duration(to: retryAt)
            guard let limit, remaining < limit else {
                throw MCPTransportError("\(lastFailure ?? "it failed"); next start in \(Int(remaining.milliseconds.rounded(.up))) ms")
            }
            try await Task.sleep(until: retryAt)
            return try await running(waitingUpTo: nil)
        }
        generation += 1
        let generation = generation
        let task = Task { try await self.start(generation: generation) }
        starting = task
        do {
            let started = try await task.value
            starting = nil
            live = started
            failures = 0
            retryAt = nil
            return started
        } catch {
            starting = nil
            recordFailure("\(error)")
            logger.warning("MCP server failed to start", metadata: ["error": "\(error)"])
            throw error
        }
    }

    private func start(generation: Int) async throws -> Live {
        let client = Client(name: "AgentHost", version: "1.0")
        await client.onNotification(ToolListChangedNotification.self) { [weak self] _ in
            await self?.markToolsChanged()
        }
        var process: Process?
        let transport: any Transport
        switch configuration.transport {
        case .stdio:
            let (child, pipes) = try spawn(generation: generation)
            process = child
            transport = MCPStdioTransport(toChild: pipes.input, fromChild: pipes.output, logger: logger)
        case .http:
            transport = MCPHTTPTransport(url: configuration.url ?? "", headers: configuration.headers ?? [:],
                                         client: httpClient, logger: logger)
        }
        let live = Live(client: client, process: process, generation: generation)
        startingClient = (generation, client)
        defer { startingClient = nil }
        let outcome = await Self.race(settings.startTimeout) {
            let initialized = try await client.connect(transport: transport)
            return initialized.protocolVersion
        } abandon: { _ in
            await client.disconnect()
        }
        switch outcome {
        case .value(let version):
            logger.info("MCP server started", metadata: ["protocol_version": "\(version)"])
            do {
                _ = try await listTools(live)
            } catch {
                await Self.shutDown(live, logger: logger)
                throw error
            }
            return live
        case .timedOut:
            await Self.shutDown(live, logger: logger)
            throw MCPTransportError("it did not answer 'initialize' within \(settings.startTimeout)")
        case .cancelled:
            await Self.shutDown(live, logger: logger)
            throw CancellationError()
        case .failed(let error):
            await Self.shutDown(live, logger: logger)
            throw MCPTransportError("it failed to start: \(error)")
        }
    }

    private func markToolsChanged() {
        toolsChanged = true
    }

    private func listTools(_ live: Live) async throws -> [MCP.Tool] {
        toolsChanged = false
        var tools: [MCP.Tool] = []
        var cursor: String?
        // Bounded: a server that pages for ever stops being asked after 50 pages.
        for _ in 0..<50 {
            let page = cursor
            let outcome = await Self.race(settings.startTimeout) {
                try await live.client.listTools(cursor: page)
            } abandon: { _ in
                await live.client.disconnect()
            }
            guard case .value(let page) = outcome else {
                await reset(live.generation, failure: "tools/list failed")
                throw MCPTransportError("it did not list its tools (\(outcome.summary))")
            }
            tools += page.tools
            cursor = page.nextCursor
            if cursor == nil { break }
        }
        cachedTools = tools
        return tools
    }

    private func spawn(generation: Int) throws -> (Process, (input: FileHandle, output: FileHandle)) {
        let process = Process()
        // `env` looks the command up on the child's PATH.
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [configuration.command ?? ""] + (configuration.args ?? [])
        process.environment = Self.childEnvironment(configuration.env)
        let input = Pipe(), output = Pipe(), errors = Pipe()
        process.standardInput = input
        process.standardOutput = output
        process.standardError = errors
        let exits = exits
        let workspaceId = workspaceId
        let name = configuration.name
        process.terminationHandler = { process in
            exits.yield(MCPClientManager.Exit(workspaceId: workspaceId, server: name, generation: generation,
                                              status: process.terminationStatus))
        }
        let logger = logger
        let framer = LineFramer()
        do {
            try process.run()
        } catch {
            throw MCPTransportError("could not run '\(configuration.command ?? "")': \(error)")
        }
        PipeReader.start(errors.fileHandleForReading, name: "mcp-stderr") { data in
            for line in framer.append(data) {
                logger.info("MCP server stderr: \(String(decoding: line.prefix(2000), as: UTF8.self))")
            }
        } onEnd: {}
        return (process, (input.fileHandleForWriting, output.fileHandleForReading))
    }

    /// A child sees `PATH`, `HOME`, `LANG` and its configured variables, never AgentHost's own
    /// environment (which holds the JWT secret and provider keys).
    static func childEnvironment(_ configured: [String: String]?) -> [String: String] {
        let ours = ProcessInfo.processInfo.environment
        var environment: [String: String] = ["PATH": ours["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"]
        for name in ["HOME", "LANG", "TMPDIR"] { environment[name] = ours[name] }
        for (name, value) in configured ?? [:] { environment[name] = value }
        return environment
    }

    private static func shutDown(_ live: Live, logger: Logger) async {
        await live.client.disconnect()
        guard let process = live.process else { return }
        // Closing its input asked it to exit; give it a moment, then terminate, then kill.
        for signal in [nil, SIGTERM, SIGKILL] as [Int32?] {
            if let signal, process.isRunning { kill(process.processIdentifier, signal) }
            for _ in 0..<40 where process.isRunning {
                try? await Task.sleep(for: .milliseconds(25))
            }
            if !process.isRunning { return }
        }
        logger.error("MCP server process did not exit after SIGKILL", metadata: ["pid": "\(process.processIdentifier)"])
    }

    private func isDisconnect(_ error: any Error) -> Bool {
        if case MCPError.internalError(let message)? = error as? MCPError, message == "Client disconnected" { return true }
        if case MCPError.connectionClosed? = error as? MCPError { return true }
        return false
    }

    private static func result(_ message: String, _ failure: ExternalToolResult.Failure) -> ExternalToolResult {
        ExternalToolResult(output: ["error": .string(message)], failure: failure)
    }

    // MARK: Racing a deadline

    enum RaceOutcome<Value: Sendable>: Sendable {
        case value(Value)
        case timedOut
        case cancelled
        case failed(any Error)

        var summary: String {
            switch self {
            case .value: "answered"
            case .timedOut: "timed out"
            case .cancelled: "cancelled"
            case .failed(let error): "\(error)"
            }
        }
    }

    /// Runs `operation` until `limit` passes or the caller is cancelled; then `abandon` (given the
    /// reason) must make `operation` end, since the SDK's requests do not end on task cancellation.
    static func race<Value: Sendable>(_ limit: Duration, _ operation: @escaping @Sendable () async throws -> Value,
                                      abandon: @escaping @Sendable (String) async -> Void) async -> RaceOutcome<Value> {
        await withTaskGroup(of: RaceOutcome<Value>?.self) { group in
            group.addTask {
                do { return .value(try await operation()) } catch { return .failed(error) }
            }
            group.addTask {
                do {
                    try await Task.sleep(for: limit)
                    return .timedOut
                } catch {
                    return .cancelled
                }
            }
            let first = await group.next() ?? nil
            switch first {
            case .timedOut?, .cancelled?:
                await abandon(first.map { if case .timedOut = $0 { "timeout" } else { "cancelled" } } ?? "cancelled")
            default:
                break
            }
            // The other child ends (the group waits for it): the sleeper on cancellation, the
            // operation once abandoned.
            group.cancelAll()
            return first ?? .cancelled
        }
    }
}
