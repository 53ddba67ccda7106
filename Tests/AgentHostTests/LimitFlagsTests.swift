import Testing

@testable import AgentHost

/// Every limit has a flag: the agent and WebSocket limits resolve from `agenthost serve` flags.
@Suite("Agent and socket limit flags")
struct LimitFlagsTests {
    @Test func defaultsAreTheDocumentedOnes() throws {
        let configuration = try ServeCommand.parse([]).makeConfiguration()
        #expect(configuration.agent.maxConcurrentPerUser == 4)
        #expect(configuration.agent.maxStepsCap == 50)
        #expect(configuration.agent.maxClientTools == 64)
        #expect(configuration.agent.resumeGrace == .seconds(120))
        #expect(configuration.agent.retention == .seconds(300))
        #expect(configuration.agent.maxFrameBytes == 1 << 20)
        #expect(configuration.agent.outboundBuffer == 1024)
        #expect(configuration.chatSocket.maxFrameBytes == 8 << 20)
        #expect(configuration.chatSocket.outboundBuffer == 1024)
        #expect(configuration.chatSocket.generationRetention == .seconds(120))
    }

    @Test func flagsSetEveryLimit() throws {
        let configuration = try ServeCommand.parse([
            "--agent-max-runs-per-user", "2", "--agent-max-steps", "7", "--agent-max-client-tools", "3",
            "--agent-resume-grace", "30", "--agent-retention", "0", "--ws-agent-max-message-bytes", "4096",
            "--ws-agent-outbound-buffer", "64", "--ws-chat-max-message-bytes", "2048", "--ws-chat-outbound-buffer", "32",
            "--ws-chat-retention", "5",
        ]).makeConfiguration()
        #expect(configuration.agent.maxConcurrentPerUser == 2)
        #expect(configuration.agent.maxStepsCap == 7)
        #expect(configuration.agent.maxClientTools == 3)
        #expect(configuration.agent.resumeGrace == .seconds(30))
        #expect(configuration.agent.retention == .zero)
        #expect(configuration.agent.maxFrameBytes == 4096)
        #expect(configuration.agent.outboundBuffer == 64)
        #expect(configuration.chatSocket.maxFrameBytes == 2048)
        #expect(configuration.chatSocket.outboundBuffer == 32)
        #expect(configuration.chatSocket.generationRetention == .seconds(5))
        // The server's frame limit follows the larger socket limit.
        #expect(configuration.webSocketMaxFrameSize >= 4096)
    }

    /// `--max-connections`: by default what the file-descriptor limit leaves room for, an eighth of
    /// it (at least 256) kept for the rest of what the server opens.
    @Test func theConnectionLimitFollowsTheDescriptorLimitUnlessSet() throws {
        #expect(FileDescriptorLimit.connections(within: 1024) == 768)
        #expect(FileDescriptorLimit.connections(within: 20_000) == 17_500)
        #expect(FileDescriptorLimit.connections(within: 100) == 16)
        #expect(FileDescriptorLimit.connections(within: .max) == 1_000_000)
        let defaults = try ServeCommand.parse([]).makeConfiguration()
        #expect(defaults.security.maxConnections == FileDescriptorLimit.connections(within: FileDescriptorLimit.current))
        #expect(try ServeCommand.parse(["--max-connections", "300"]).makeConfiguration().security.maxConnections == 300)
        #expect(throws: (any Error).self) { try ServeCommand.parse(["--max-connections", "0"]).makeConfiguration() }
    }

    /// `--max-upstream-connections`: by default a quarter of the descriptors the connection limit
    /// leaves, so streams to one model host cannot use up the reserve the server needs.
    @Test func theUpstreamConnectionLimitIsAShareOfTheReserveUnlessSet() throws {
        #expect(FileDescriptorLimit.upstreamConnections(within: 20_000, accepting: 17_500) == 625)
        #expect(FileDescriptorLimit.upstreamConnections(within: 1024, accepting: 768) == 64)
        #expect(FileDescriptorLimit.upstreamConnections(within: 1024, accepting: 1_020) == 8)
        #expect(FileDescriptorLimit.upstreamConnections(within: 1024, accepting: 5_000) == 8)
        #expect(FileDescriptorLimit.upstreamConnections(within: 1_000_000, accepting: 10) == 4_096)
        #expect(FileDescriptorLimit.upstreamConnections(within: .max, accepting: 1_000_000) == 4_096)
        let defaults = try ServeCommand.parse(["--max-connections", "300"]).makeConfiguration()
        #expect(defaults.security.upstreamConnectionsPerHost
            == FileDescriptorLimit.upstreamConnections(within: FileDescriptorLimit.current, accepting: 300))
        #expect(try ServeCommand.parse(["--max-upstream-connections", "3"]).makeConfiguration().security.upstreamConnectionsPerHost == 3)
        #expect(throws: (any Error).self) { try ServeCommand.parse(["--max-upstream-connections", "0"]).makeConfiguration() }
    }

    @Test(arguments: [
        ["--agent-max-runs-per-user", "0"], ["--agent-max-steps", "1001"], ["--agent-resume-grace", "0"],
        ["--ws-agent-max-message-bytes", "10"], ["--ws-chat-outbound-buffer", "1"], ["--ws-chat-retention", "-1"],
    ])
    func outOfRangeValuesAreRefused(_ arguments: [String]) {
        #expect(throws: (any Error).self) { try ServeCommand.parse(arguments).makeConfiguration() }
    }
}
