import AgentHost
import ArgumentParser
import Foundation
import Logging

/// `agenthost-bench`: in-process benchmarks against a zero-delay fake model server. They print
/// numbers and ratios next to their targets; they never fail on a timing.
@main
struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "agenthost-bench",
        abstract: "Measure AgentHost's own overhead against an in-process zero-delay model server.",
        discussion: """
            Clients, AgentHost and the fake upstream run in this one process and share its cores, over real \
            loopback sockets, with a real SQLite database in a temporary directory. Build with -c release.
            """,
        subcommands: [Chat.self, Agent.self, Rooms.self, Cluster.self, Seed.self, Search.self, Export.self, Retrieval.self, Queue.self]
    )

    /// Logging at warning level for every logger of the process, so logs cost nothing measurable.
    static func quietLogging() {
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = .warning
            return handler
        }
    }

    struct Chat: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Time to first token, token throughput and CPU per request of the streaming chat, direct vs through AgentHost.")

        @Option(help: "Tokens in every scripted answer.")
        var tokens = 200

        @Option(help: "Sequential measured requests per path for time to first token; also streams per throughput level (at least one per client).")
        var requests = 200

        @Option(help: "Unmeasured request pairs before the time-to-first-token measurement.")
        var warmup = 20

        @Option(help: "Comma-separated concurrent client counts for the throughput measurement.")
        var clients = "1,100,1000"

        @Option(name: .customLong("history-length"), help: "The workspace's history_length: earlier chats sent to the model with every message. Default: the workspace default (20)")
        var historyLength: Int?

        @Option(name: .customLong("tool-schemas"), help: "Directory of the server tools' JSON schemas. Default: ./tool-schemas, else next to the build")
        var toolSchemas: String?

        @Option(help: "The AgentHost endpoint measured: stream_chat (POST /api/chats/stream_chat/, SSE) or v1 (POST /v1/chat/completions, streaming).")
        var endpoint = ChatBenchmark.Endpoint.streamChat.rawValue

        @Option(help: "Where AgentHost runs: in-process (this process, sharing its cores with the clients and the upstream) or process (a child `agenthost serve`, CPU time from /proc).")
        var server = "in-process"

        @Option(name: .customLong("server-cpus"), help: "With --server process: the CPUs the server is pinned to (taskset -c LIST), e.g. 0; pin the bench itself to the others (taskset -c 1 agenthost bench chat ...). Default: not pinned")
        var serverCPUs: String?

        @Option(name: .customLong("server-binary"), help: "With --server process: the agenthost binary to run as the server, e.g. an older build to compare with. Default: the agenthost next to this executable")
        var serverBinary: String?

        func validate() throws {
            guard ChatBenchmark.Endpoint(rawValue: endpoint) != nil else { throw ValidationError("--endpoint is stream_chat or v1.") }
            guard ["in-process", "process"].contains(server) else { throw ValidationError("--server is in-process or process.") }
            if serverCPUs != nil || serverBinary != nil, server != "process" {
                throw ValidationError("--server-cpus and --server-binary need --server process.")
            }
            guard tokens >= 1 else { throw ValidationError("--tokens must be at least 1.") }
            guard requests >= 1 else { throw ValidationError("--requests must be at least 1.") }
            guard warmup >= 0 else { throw ValidationError("--warmup cannot be negative.") }
            if let historyLength, !(0...1000).contains(historyLength) {
                throw ValidationError("--history-length must be from 0 to 1000.")
            }
            _ = try clientCounts()
        }

        func clientCounts() throws -> [Int] {
            let counts = clients.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
            let parsed = counts.compactMap { Int($0) }
            guard !parsed.isEmpty, parsed.count == counts.count, parsed.allSatisfy({ (1...20_000).contains($0) }) else {
                throw ValidationError("--clients is a comma-separated list of counts from 1 to 20000, e.g. 1,100,1000.")
            }
            return parsed
        }

        func run() async throws {
            BenchCommand.quietLogging()
            BenchCommand.raiseFileLimit()
            try await ChatBenchmark(options: .init(
                tokens: tokens, requests: requests, warmup: warmup, clients: try clientCounts(), historyLength: historyLength,
                toolSchemas: toolSchemas, endpoint: ChatBenchmark.Endpoint(rawValue: endpoint) ?? .streamChat,
                placement: server == "process" ? .childProcess(cpus: serverCPUs, executable: serverBinary) : .inProcess)).run()
        }
    }

    struct Agent: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Per-step overhead of server and client tool calls over ws/agent, and many concurrent invocations.")

        @Option(help: "Sequential measured invocations for each of the server-tool and client-tool measurements.")
        var invocations = 100

        @Option(help: "Sequential tool calls in every invocation of the concurrent measurement.")
        var calls = 10

        @Option(help: "Concurrent invocations (one WebSocket each) in the concurrent measurement.")
        var concurrency = 100

        @Option(help: "Tools of the concurrent measurement: mixed (alternating server and client) or client.")
        var mix = "mixed"

        @Option(help: "Unmeasured invocations before each sequential measurement.")
        var warmup = 10

        @Option(name: .customLong("tool-schemas"), help: "Directory of the server tools' JSON schemas. Default: ./tool-schemas, else next to the build")
        var toolSchemas: String?

        func validate() throws {
            guard invocations >= 1 else { throw ValidationError("--invocations must be at least 1.") }
            guard (1...40).contains(calls) else { throw ValidationError("--calls must be from 1 to 40.") }
            guard (1...5_000).contains(concurrency) else { throw ValidationError("--concurrency must be from 1 to 5000.") }
            guard AgentBenchmark.Mix(rawValue: mix) != nil else { throw ValidationError("--mix is mixed or client.") }
            guard warmup >= 0 else { throw ValidationError("--warmup cannot be negative.") }
        }

        func run() async throws {
            BenchCommand.quietLogging()
            BenchCommand.raiseFileLimit()
            try await AgentBenchmark(options: .init(
                invocations: invocations, calls: calls, concurrency: concurrency, mix: AgentBenchmark.Mix(rawValue: mix) ?? .mixed,
                warmup: warmup, toolSchemas: toolSchemas)).run()
        }
    }

    /// Thousands of loopback connections need more descriptors than a default soft limit of 1024.
    static func raiseFileLimit() {
        #if os(Linux)
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0, limit.rlim_cur < limit.rlim_max else { return }
        limit.rlim_cur = limit.rlim_max
        _ = setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        #endif
    }
}
