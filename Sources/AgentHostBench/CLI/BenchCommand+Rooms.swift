import AgentHost
import ArgumentParser

extension BenchCommand {
    /// `agenthost-bench rooms`: idle `ws/chat` connections and room fan-out against a child server process.
    struct Rooms: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Server memory with many idle ws/chat connections, and fan-out latency to a room's members.")

        @Option(help: "Idle connections to hold open.")
        var connections = 10_000

        @Option(help: "Members of the fan-out room.")
        var members = 100

        @Option(help: "Tokens of the fan-out generation.")
        var tokens = 500

        @Option(help: "Milliseconds between upstream tokens.")
        var intervalMs = 2

        func validate() throws {
            guard (1...15_000).contains(connections) else { throw ValidationError("--connections must be from 1 to 15000.") }
            guard (1...5_000).contains(members) else { throw ValidationError("--members must be from 1 to 5000.") }
            guard tokens >= 1, intervalMs >= 0 else { throw ValidationError("--tokens must be positive, --interval-ms not negative.") }
        }

        func run() async throws {
            BenchCommand.quietLogging()
            try await RoomBenchmark(idleConnections: connections, roomSize: members, tokens: tokens,
                                    tokenInterval: .milliseconds(intervalMs)).run()
        }
    }
}
