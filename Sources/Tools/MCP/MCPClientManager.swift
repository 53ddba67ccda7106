import AsyncHTTPClient
import ChatBridge
import Foundation
import Logging
import MCP
import ServiceLifecycle
import Synchronization

/// Owns the connections to every workspace's MCP servers (PROTOCOL §10) and offers their tools
/// to the agent engine as `<server>__<tool>`.
///
/// A server starts on first use (the first run that lists its tools), is dropped when its process
/// exits or its link fails and started again on the next use after a back-off (0.5 s doubling to
/// `--mcp-restart-backoff-cap`), is stopped after `--mcp-idle-stop` unused, and at shutdown. As a
/// `Service` it watches child exits and idle servers until graceful shutdown, then stops them all.
public final class MCPClientManager: Service, ExternalToolSource {
    /// A child process exited (reported by its termination handler).
    struct Exit: Sendable {
        var workspaceId: Int64
        var server: String
        var generation: Int
        var status: Int32
    }

    private struct Key: Hashable {
        var workspaceId: Int64
        var server: String
    }

    private let settings: MCPSettings
    private let httpClient: HTTPClient
    private let logger: Logger
    private let connections = Mutex<[Key: MCPConnection]>([:])
    private let exits: AsyncStream<Exit>
    private let exitContinuation: AsyncStream<Exit>.Continuation

    public init(settings: MCPSettings, httpClient: HTTPClient, logger: Logger) {
        self.settings = settings
        self.httpClient = httpClient
        self.logger = logger
        (exits, exitContinuation) = AsyncStream.makeStream()
        // Writing to the pipe of a child that died must fail the write (EPIPE), not kill the server.
        signal(SIGPIPE, SIG_IGN)
    }

    // MARK: Service

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            await withTaskGroup(of: Void.self) { group in
                group.addTask { await self.watchExits() }
                group.addTask { await self.stopIdleServers() }
                await group.waitForAll()
            }
        }
        // Given a moment each even though the service is being cancelled.
        await ChatPipeline.detachedFromCancellation { await self.stopAll() }
    }

    private func watchExits() async {
        for await exit in exits {
            let connection = connections.withLock { $0[Key(workspaceId: exit.workspaceId, server: exit.server)] }
            await connection?.processExited(generation: exit.generation, status: exit.status)
        }
    }

    private func stopIdleServers() async {
        let interval = max(min(settings.idleStop / 4, .seconds(30)), .milliseconds(100))
        while !Task.isCancelled {
            try? await Task.sleep(for: interval)
            for connection in connections.withLock({ Array($0.values) }) {
                if await connection.stopIfIdle(for: settings.idleStop) {
                    logger.info("stopped an idle MCP server", metadata: ["mcp_server": "\(connection.configuration.name)"])
                }
            }
        }
    }

    /// Stops every server (shutdown).
    func stopAll() async {
        let all = connections.withLock { Array($0.values) }
        await withTaskGroup(of: Void.self) { group in
            for connection in all { group.addTask { await connection.stop() } }
        }
    }

    // MARK: ExternalToolSource

    public func tools(for workspace: Workspace) async -> ExternalToolListing {
        guard let workspaceId = workspace.id else { return ExternalToolListing() }
        let servers = workspace.mcpServers ?? []
        await forgetRemovedServers(of: workspaceId, keeping: Set(servers.map(\.name)))
        let listings = await withTaskGroup(of: (Int, ExternalToolListing).self) { group in
            for (index, server) in servers.enumerated() {
                group.addTask { (index, await self.tools(of: server, workspaceId: workspaceId)) }
            }
            var listings: [(Int, ExternalToolListing)] = []
            for await listing in group { listings.append(listing) }
            return listings.sorted { $0.0 < $1.0 }.map(\.1)
        }
        return ExternalToolListing(tools: listings.flatMap(\.tools), failures: listings.flatMap(\.failures))
    }

    public func call(_ tool: ExternalTool, arguments: JSONValue, workspace: Workspace, timeout: Duration) async -> ExternalToolResult {
        guard let workspaceId = workspace.id,
              let server = workspace.mcpServers?.first(where: { $0.name == tool.server }) else {
            return ExternalToolResult(output: ["error": .string("The MCP server '\(tool.server)' is no longer configured.")],
                                      failure: .failed)
        }
        let connection = await connection(for: server, workspaceId: workspaceId)
        return await connection.call(tool.remoteName, arguments: MCPResultMapping.arguments(arguments), timeout: timeout)
    }

    // MARK: Connections

    private func tools(of server: MCPServerConfiguration, workspaceId: Int64) async -> ExternalToolListing {
        let source = "mcp:\(server.name)"
        let remote: [MCP.Tool]
        do {
            remote = try await connection(for: server, workspaceId: workspaceId).tools()
        } catch {
            logger.warning("MCP server's tools unavailable", metadata: ["mcp_server": "\(server.name)", "error": "\(error)"])
            return ExternalToolListing(failures: [.init(source: source, message: "\(error)")])
        }
        var listing = ExternalToolListing()
        let allowed = server.tools.map(Set.init)
        let timeout = server.timeoutMs ?? Int(settings.defaultTimeout.milliseconds)
        for tool in remote where allowed?.contains(tool.name) ?? true {
            switch MCPToolNaming.spec(for: tool, server: server, timeoutMilliseconds: timeout) {
            case .success(let spec):
                listing.tools.append(ExternalTool(spec: spec, source: source, server: server.name, remoteName: tool.name))
            case .failure(let problem):
                logger.warning("MCP tool skipped", metadata: ["mcp_server": "\(server.name)", "tool": "\(tool.name)",
                                                              "reason": "\(problem.message)"])
                listing.failures.append(.init(source: source, message: "tool '\(tool.name)' skipped: \(problem.message)"))
            }
        }
        return listing
    }

    /// The connection of `server`, made when missing; one whose configuration changed is replaced
    /// (and its server stopped).
    private func connection(for server: MCPServerConfiguration, workspaceId: Int64) async -> MCPConnection {
        let key = Key(workspaceId: workspaceId, server: server.name)
        let (connection, replaced) = connections.withLock { connections -> (MCPConnection, MCPConnection?) in
            if let existing = connections[key], existing.configuration == server { return (existing, nil) }
            let made = MCPConnection(workspaceId: workspaceId, configuration: server, settings: settings, httpClient: httpClient,
                                     logger: logger, exits: exitContinuation)
            let old = connections.updateValue(made, forKey: key)
            return (made, old)
        }
        await replaced?.stop()
        return connection
    }

    private func forgetRemovedServers(of workspaceId: Int64, keeping names: Set<String>) async {
        let removed = connections.withLock { connections -> [MCPConnection] in
            let keys = connections.keys.filter { $0.workspaceId == workspaceId && !names.contains($0.server) }
            return keys.compactMap { connections.removeValue(forKey: $0) }
        }
        for connection in removed { await connection.stop() }
    }
}
