import AgentHost
import ArgumentParser
import ChatBridge
import Foundation
import GRDB

extension BenchCommand {
    /// `agenthost-bench search`: search latency for common and rare words over a seeded database.
    struct Search: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "search", abstract: "Search latency (p50/p99) for common and rare words; run `agenthost-bench seed` first.")

        @OptionGroup var storage: StorageOptions
        @Option(help: "Measured queries per case.") var queries = 200
        @Option(help: "Only the cases whose name contains this text (for profiling one case).") var only: String?

        func run() async throws {
            let store = try storage.openStore()
            let corpus = BenchCorpus()
            let total = try await store.writer.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM workspace_chats") ?? 0 }
            let someUser = try await store.writer.read { db in
                try Int64.fetchOne(db, sql: "SELECT user_id FROM workspace_chats WHERE user_id IS NOT NULL LIMIT 1")
            }
            // CPU per query (the process's, so every thread's) beside wall time: on a shared machine the wall
            // time mostly measures the other processes.
            var table = BenchTable("Search over \(total) chats, \(queries) queries per case, first page of 20 (bm25 order + snippets), ms",
                                   header: ["case", "matches", "p50", "p99", "mean", "cpu p50", "cpu mean"])
            let cases: [(String, String, Viewer)] = [
                ("very common word (rank 1)", corpus.words[0], .singleUser),
                ("common word (rank 10)", corpus.words[9], .singleUser),
                ("mid word (rank 300)", corpus.words[299], .singleUser),
                ("rare word (rank 15000)", corpus.words[14_999], .singleUser),
                ("rare word (rank 19000)", corpus.words[18_999], .singleUser),
                ("two mid words", corpus.words[299] + " " + corpus.words[300], .singleUser),
                ("phrase of two common words", "\"\(corpus.words[0]) \(corpus.words[1])\"", .singleUser),
                ("prefix of a rare word", String(corpus.words[14_999].prefix(4)) + "*", .singleUser),
                ("common word, one user (non-admin)", corpus.words[9], Viewer(userId: someUser, isAdmin: false)),
                ("rare word, one user (non-admin)", corpus.words[14_999], Viewer(userId: someUser, isAdmin: false)),
                ("mid word, one user (non-admin)", corpus.words[299], Viewer(userId: someUser, isAdmin: false)),
                ("phrase, one user (non-admin)", "\"\(corpus.words[0]) \(corpus.words[1])\"", Viewer(userId: someUser, isAdmin: false)),
                ("prefix, one user (non-admin)", String(corpus.words[14_999].prefix(4)) + "*", Viewer(userId: someUser, isAdmin: false)),
            ]
            for (name, text, viewer) in cases where only.map(name.contains) ?? true {
                let match = SearchQueryParser.matchExpression(text, columns: ["prompt", "response"]) ?? "\"\""
                let matches = try await store.writer.read { db in
                    try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM workspace_chats_fts WHERE workspace_chats_fts MATCH ?", arguments: [match]) ?? 0
                }
                for _ in 0..<3 { _ = try await store.search(ChatSearchQuery(text: text), viewer: viewer) }
                var times = Samples()
                var cpu = Samples()
                for _ in 0..<queries {
                    let start = ContinuousClock.now
                    let startCPU = ProcessCPU.seconds
                    _ = try await store.search(ChatSearchQuery(text: text), viewer: viewer)
                    cpu.append((ProcessCPU.seconds - startCPU) * 1000)
                    times.append(start.duration(to: .now).milliseconds)
                }
                table.add([name, BenchFormat.number(Double(matches)), BenchFormat.ms(times.p50), BenchFormat.ms(times.p99),
                           BenchFormat.ms(times.mean), BenchFormat.ms(cpu.p50), BenchFormat.ms(cpu.mean)])
            }
            table.print()
        }
    }
}
