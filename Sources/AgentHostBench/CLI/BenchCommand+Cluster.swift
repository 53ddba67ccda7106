import AgentHost
import ArgumentParser

extension BenchCommand {
    /// `agenthost-bench cluster`: SQLite vs PostgreSQL with one instance vs two instances (PROTOCOL §9).
    struct Cluster: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Relay throughput, added TTFT, agent client-tool round trip, resume latency and ws/chat fan-out: SQLite, PostgreSQL with one instance, and two instances on one PostgreSQL.")

        @Option(help: "Concurrent streams of the throughput test.")
        var clients = 50

        @Option(help: "Tokens per streamed answer.")
        var tokens = 200

        @Option(help: "Streams of the throughput test (per setup).")
        var requests = 400

        @Option(help: "Sequential samples of TTFT, the agent round trip and resume latency.")
        var samples = 40

        @Option(help: "Members of the fan-out room (split over the instances).")
        var members = 100

        func validate() throws {
            guard (1...1000).contains(clients), (1...100_000).contains(tokens), requests >= clients, (1...10_000).contains(samples),
                  (1...2000).contains(members)
            else { throw ValidationError("--clients 1...1000, --tokens 1...100000, --requests >= --clients, --samples 1...10000, --members 1...2000.") }
        }

        func run() async throws {
            BenchCommand.quietLogging()
            try await ClusterBenchmark(clients: clients, tokens: tokens, requests: requests, samples: samples, members: members).run()
        }
    }
}
