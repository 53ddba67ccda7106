import AgentHost
import ArgumentParser

extension BenchCommand {
    /// `agenthost-bench queue`: the provider queue under a burst of chats, and its cost when empty.
    struct Queue: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Concurrent chats against an upstream limited to a few at a time: upstream concurrency, completions, queue wait p50/p99, and the added TTFT of an empty queue.")

        @Option(help: "Concurrent chats of the burst.")
        var chats = 200

        @Option(help: "Upstream concurrency limit (--llm-max-concurrency of the server under test).")
        var limit = 4

        @Option(help: "Tokens in every scripted answer.")
        var tokens = 20

        @Option(help: "Milliseconds between upstream tokens in the burst.")
        var intervalMs = 5

        @Option(help: "Sequential measured request pairs for the empty-queue overhead.")
        var requests = 200

        @Option(help: "Directory of the server tools' JSON schemas.")
        var toolSchemas: String?

        func validate() throws {
            guard (1...5_000).contains(chats), (1...1_000).contains(limit) else {
                throw ValidationError("--chats must be from 1 to 5000 and --limit from 1 to 1000.")
            }
            guard tokens >= 1, intervalMs >= 0, requests >= 1 else {
                throw ValidationError("--tokens and --requests must be positive, --interval-ms not negative.")
            }
        }

        func run() async throws {
            BenchCommand.quietLogging()
            try await QueueBenchmark(chats: chats, limit: limit, tokens: tokens, tokenInterval: .milliseconds(intervalMs),
                                     requests: requests, toolSchemas: toolSchemas).run()
        }
    }
}
