import ChatBridge
import Foundation
import Testing
import Tools

@testable import AgentHost

/// The workspace setting `mcp_servers` (PROTOCOL §10): validation, secrets masked when shown and
/// kept when sent back masked, and the `--mcp-*` flags.
@Suite("MCP server configuration")
struct MCPConfigurationTests {
    private let limits = MCPServerLimits(maxServersPerWorkspace: 3)

    private func stdio(_ name: String = "files", env: [String: String]? = ["API_KEY": "secret-1"]) -> MCPServerConfiguration {
        MCPServerConfiguration(name: name, transport: .stdio, command: "npx", args: ["-y", "server"], env: env)
    }

    private func http(_ name: String = "remote", url: String = "https://mcp.example.com/mcp") -> MCPServerConfiguration {
        MCPServerConfiguration(name: name, transport: .http, url: url, headers: ["Authorization": "Bearer tok"], timeoutMs: 5000)
    }

    private func problem(_ servers: [MCPServerConfiguration], current: [MCPServerConfiguration]? = nil) -> String? {
        do {
            _ = try MCPServerConfiguration.validated(servers, current: current, limits: limits)
            return nil
        } catch let error as APIError {
            #expect(error.code == .validationFailed)
            return error.message
        } catch {
            return "\(error)"
        }
    }

    @Test func validServersPass() throws {
        let servers = [stdio(), http(), MCPServerConfiguration(name: "a-b_9", transport: .stdio, command: "x", tools: ["one"])]
        #expect(try MCPServerConfiguration.validated(servers, current: nil, limits: limits) == servers)
    }

    @Test func invalidServersAreRefusedWithTheField() {
        var longArgs = stdio()
        longArgs.args = Array(repeating: "a", count: 65)
        var badEnv = stdio()
        badEnv.env = ["1BAD": "x"]
        var crlf = http()
        crlf.headers = ["X-Token": "a\r\nInjected: yes"]
        var mixed = http()
        mixed.command = "x"
        var noCommand = stdio()
        noCommand.command = "  "
        var timeout = http()
        timeout.timeoutMs = 0
        let cases: [([MCPServerConfiguration], String)] = [
            ([stdio("Files")], "mcp_servers[0].name"),
            ([stdio("a__b")], "mcp_servers[0].name"),
            ([stdio(String(repeating: "a", count: 33))], "mcp_servers[0].name"),
            ([stdio("x"), http("x")], "used twice"),
            ([stdio("a"), stdio("b"), stdio("c"), stdio("d")], "at most 3 servers"),
            ([http(url: "ftp://host/mcp")], "mcp_servers[0].url"),
            ([http(url: "file:///etc/passwd")], "mcp_servers[0].url"),
            ([http(url: "not a url")], "mcp_servers[0].url"),
            ([longArgs], "mcp_servers[0].args"),
            ([badEnv], "mcp_servers[0].env"),
            ([crlf], "line breaks"),
            ([mixed], "belong to transport 'stdio'"),
            ([noCommand], "mcp_servers[0].command"),
            ([timeout], "timeout_ms"),
            ([stdio(env: ["API_KEY": MCPServerConfiguration.secretMask])], "no value is stored"),
        ]
        for (servers, expected) in cases {
            let message = problem(servers)
            #expect(message?.contains(expected) == true, "\(servers.map(\.name)): \(message ?? "accepted")")
        }
    }

    @Test func maskedSecretsSentBackKeepTheStoredOnes() throws {
        let stored = [stdio(env: ["API_KEY": "secret-1", "OTHER": "secret-2"]), http()]
        let shown = stored.map(\.masked)
        #expect(shown[0].env == ["API_KEY": "********", "OTHER": "********"])
        #expect(shown[1].headers == ["Authorization": "********"])
        var edited = shown
        edited[0].env?["OTHER"] = "new-value"
        let saved = try MCPServerConfiguration.validated(edited, current: stored, limits: limits)
        #expect(saved[0].env == ["API_KEY": "secret-1", "OTHER": "new-value"])
        #expect(saved[1].headers == ["Authorization": "Bearer tok"])
        // A mask under another server's name has nothing stored behind it.
        var renamed = shown[0]
        renamed.name = "renamed"
        #expect(problem([renamed], current: stored)?.contains("no value is stored") == true)
    }

    @Test func theAPIKeepsVariableNamesAndNeverShowsSecrets() throws {
        let body = #"""
        {"name": "w", "mcp_servers": [{"name": "files", "transport": "stdio", "command": "srv",
          "env": {"API_KEY": "top-secret", "lowerCase_Name": "v"}, "requires_approval": true, "timeout_ms": 250}]}
        """#
        let settings = try APICoding.decode(WorkspaceSettings.self, from: Array(body.utf8))
        var workspace = try settings.makeWorkspace()
        try settings.applyMCPServers(to: &workspace, limits: limits)
        let server = try #require(workspace.mcpServers?.first)
        #expect(server.env == ["API_KEY": "top-secret", "lowerCase_Name": "v"])
        #expect(server.requiresApproval == true)
        #expect(server.timeoutMs == 250)

        workspace.id = 1
        let shown = try APICoding.encoder.encode(WorkspaceRepresentation(workspace))
        let text = String(decoding: shown, as: UTF8.self)
        #expect(!text.contains("top-secret"))
        let json = try JSONValue(parsing: shown)
        #expect(json["mcp_servers"]?.arrayValue?.first?["env"] == ["API_KEY": "********", "lowerCase_Name": "********"])
        #expect(json["mcp_servers"]?.arrayValue?.first?["requires_approval"] == true)
    }

    @Test func nullRemovesTheServers() throws {
        let settings = try APICoding.decode(WorkspaceSettings.self, from: Array(#"{"mcp_servers": null}"#.utf8))
        var workspace = Workspace(name: "w", slug: "w", mcpServers: [stdio()])
        try settings.applyMCPServers(to: &workspace, limits: limits)
        #expect(workspace.mcpServers == nil)
        let absent = try APICoding.decode(WorkspaceSettings.self, from: Array(#"{"name": "x"}"#.utf8))
        workspace.mcpServers = [stdio()]
        try absent.applyMCPServers(to: &workspace, limits: limits)
        #expect(workspace.mcpServers == [stdio()])
    }

    @Test func flagsHaveDefaultsAndRanges() throws {
        let defaults = try ServeCommand.parse([]).makeConfiguration().mcp
        #expect(defaults.idleStop == .seconds(300))
        #expect(defaults.defaultTimeout == .seconds(60))
        #expect(defaults.startTimeout == .seconds(20))
        #expect(defaults.restartBackoffCap == .seconds(30))
        #expect(defaults.maxServersPerWorkspace == 8)
        let set = try ServeCommand.parse([
            "--mcp-idle-stop", "5", "--mcp-timeout-ms", "1500", "--mcp-start-timeout", "3", "--mcp-restart-backoff-cap", "2",
            "--mcp-max-servers", "1",
        ]).makeConfiguration().mcp
        #expect(set.idleStop == .seconds(5))
        #expect(set.defaultTimeout == .milliseconds(1500))
        #expect(set.startTimeout == .seconds(3))
        #expect(set.restartBackoffCap == .seconds(2))
        #expect(set.serverLimits.maxServersPerWorkspace == 1)
        for arguments in [["--mcp-idle-stop", "0"], ["--mcp-timeout-ms", "0"], ["--mcp-max-servers", "65"]] {
            #expect(throws: (any Error).self) { try ServeCommand.parse(arguments).makeConfiguration() }
        }
    }
}

/// An MCP tool offered to a run is stored in its context, so a run continued after a restart still
/// reaches it (``AgentEngine/restoreWaitingRuns(_:)``).
@Suite("External tools in a run's context")
struct ExternalToolContextTests {
    @Test func anExternalToolRoundTripsThroughItsStoredForm() throws {
        let spec = ToolSpec(name: "files__read", description: "Reads a file",
                            parameters: ["type": "object", "properties": ["path": ["type": "string"]]], executor: .server,
                            requiresApproval: true, timeoutMilliseconds: 1500)
        let tool = ExternalTool(spec: spec, source: "mcp:files", server: "files", remoteName: "read")
        let stored = try JSONValue(parsing: Data(tool.json.serializedString.utf8))
        #expect(ExternalTool(json: stored) == tool)
        #expect(ExternalTool(json: ["name": "x"]) == nil)
    }

    @Test func onlyTheOfferedExternalToolsRunExternally() {
        let external = ["a__one", "a__two"].map {
            ExternalTool(spec: ToolSpec(name: $0, description: "", parameters: ["type": "object"], executor: .server),
                         source: "mcp:a", server: "a", remoteName: String($0.dropFirst(3)))
        }
        let offered = AgentEngine.offered(external, among: [external[1].spec,
                                                            ToolSpec(name: "calculator", description: "", parameters: [:], executor: .server)])
        #expect(Array(offered.keys) == ["a__two"])
    }
}
