import ArgumentParser
import ChatBridge
import Foundation
import GRDB

/// A deterministic synthetic corpus: a vocabulary of pseudo-words drawn with a Zipf distribution,
/// so a few words are in most chats and most words are rare, as in real text.
struct BenchCorpus {
    static let vocabularySize = 20_000
    let words: [String]
    /// Cumulative Zipf weights (s = 1.05) for sampling by rank.
    private let cumulative: [Double]

    init() {
        var rng = SplitMix64(seed: 42)
        let onsets = ["b", "c", "d", "f", "g", "h", "j", "k", "l", "m", "n", "p", "r", "s", "t", "v", "w", "z", "br", "st", "tr", "pl", "gr", "sh", "ch"]
        let vowels = ["a", "e", "i", "o", "u", "ai", "ou", "ea"]
        let codas = ["", "n", "r", "s", "t", "l", "m", "x", "nd", "rk"]
        var seen = Set<String>()
        var words: [String] = []
        while words.count < Self.vocabularySize {
            let syllables = 1 + Int(rng.next() % 3)
            var word = ""
            for _ in 0..<syllables {
                word += onsets[Int(rng.next() % UInt64(onsets.count))] + vowels[Int(rng.next() % UInt64(vowels.count))]
                    + codas[Int(rng.next() % UInt64(codas.count))]
            }
            if word.count >= 3, seen.insert(word).inserted { words.append(word) }
        }
        self.words = words
        var total = 0.0
        cumulative = (1...Self.vocabularySize).map { rank in
            total += 1 / pow(Double(rank), 1.05)
            return total
        }
    }

    func word(_ rng: inout SplitMix64) -> String {
        let target = Double(rng.next() >> 11) / Double(1 << 53) * cumulative[cumulative.count - 1]
        var low = 0
        var high = cumulative.count - 1
        while low < high {
            let middle = (low + high) / 2
            if cumulative[middle] < target { low = middle + 1 } else { high = middle }
        }
        return words[low]
    }

    func sentence(_ rng: inout SplitMix64, words count: Int) -> String {
        var text = ""
        text.reserveCapacity(count * 7)
        for index in 0..<count {
            if index > 0 { text += index % 12 == 0 ? ". " : " " }
            text += word(&rng)
        }
        return text + "."
    }
}

/// A small fast deterministic random number generator.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

enum BenchStats {
    static func milliseconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) * 1000 + Double(duration.components.attoseconds) / 1e15
    }

    static func percentile(_ sorted: [Double], _ p: Double) -> Double {
        guard !sorted.isEmpty else { return 0 }
        return sorted[min(sorted.count - 1, Int((Double(sorted.count - 1) * p).rounded()))]
    }

    /// Resident set size of this process in bytes (Linux), from /proc/self/statm.
    static func residentBytes() -> Int {
        guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return 0 }
        let fields = text.split(separator: " ")
        guard fields.count > 1, let pages = Int(fields[1]) else { return 0 }
        return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
    }

    static func format(_ value: Double, _ digits: Int = 2) -> String { String(format: "%.\(digits)f", value) }
}

/// `agenthost bench-seed`: fills a database with synthetic chats for the search and export benchmarks.
struct BenchSeedCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench-seed",
        abstract: "Fill a database with synthetic chats (Zipf-distributed words) for bench-search and bench-export.")

    @OptionGroup var storage: StorageOptions
    @Option(help: "Chats to add.") var chats = 1_000_000
    @Option(help: "Users owning the chats.") var users = 20
    @Option(help: "Workspaces.") var workspaces = 10
    @Option(help: "Threads per workspace (chats also go to the default thread).") var threads = 20
    @Option(help: "Chats per transaction.") var batch = 10_000

    func run() async throws {
        let store = try storage.openStore()
        let writer = store.writer
        let corpus = BenchCorpus()
        let started = ContinuousClock.now
        let (userIds, threadsByWorkspace) = try await writer.write { db -> ([Int64], [(Int64, [Int64])]) in
            let stamp = Date()
            var userIds: [Int64] = []
            for index in 0..<users {
                try db.execute(sql: """
                    INSERT INTO users (username, password_hash, role, suspended, created_at, updated_at)
                    VALUES (?, 'bench-no-login', 'default', 0, ?, ?)
                    """, arguments: ["bench-\(UUID().uuidString.prefix(8).lowercased())-\(index)", stamp, stamp])
                userIds.append(db.lastInsertedRowID)
            }
            var result: [(Int64, [Int64])] = []
            for index in 0..<workspaces {
                let slug = "bench-\(UUID().uuidString.prefix(8).lowercased())-\(index)"
                try db.execute(sql: """
                    INSERT INTO workspaces (name, slug, query_refusal_response, created_at, updated_at) VALUES (?, ?, '', ?, ?)
                    """, arguments: [slug, slug, stamp, stamp])
                let workspaceId = db.lastInsertedRowID
                var threadIds: [Int64] = []
                for thread in 0..<threads {
                    try db.execute(sql: """
                        INSERT INTO threads (workspace_id, user_id, name, slug, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)
                        """, arguments: [workspaceId, userIds[thread % userIds.count], "Thread \(thread)", "thread-\(thread)", stamp, stamp])
                    threadIds.append(db.lastInsertedRowID)
                }
                result.append((workspaceId, threadIds))
            }
            return (userIds, result)
        }
        var rng = SplitMix64(seed: 7)
        let now = Date().timeIntervalSince1970
        var inserted = 0
        while inserted < chats {
            let count = min(batch, chats - inserted)
            var rows: [SeedRow] = []
            rows.reserveCapacity(count)
            for _ in 0..<count {
                let (workspaceId, threadIds) = threadsByWorkspace[Int(rng.next() % UInt64(threadsByWorkspace.count))]
                let threadPick = Int(rng.next() % UInt64(threadIds.count + 1))
                let prompt = corpus.sentence(&rng, words: 6 + Int(rng.next() % 15))
                let response = corpus.sentence(&rng, words: 30 + Int(rng.next() % 90))
                let feedbackRoll = rng.next() % 10
                rows.append(SeedRow(
                    workspaceId: workspaceId, threadId: threadPick == threadIds.count ? nil : threadIds[threadPick],
                    userId: userIds[Int(rng.next() % UInt64(userIds.count))], prompt: prompt, response: response,
                    feedback: feedbackRoll == 0 ? true : (feedbackRoll == 1 ? false : nil),
                    created: Date(timeIntervalSince1970: now - Double(rng.next() % (365 * 86_400)))))
            }
            try await writer.write { [rows] db in
                let statement = try db.makeStatement(sql: """
                    INSERT INTO workspace_chats (chat_uuid, workspace_id, thread_id, user_id, prompt, response, sources, attachments,
                        feedback, include, mode, model, status, prompt_tokens, completion_tokens, created_at, updated_at)
                    VALUES (?, ?, ?, ?, ?, ?, '[]', '[]', ?, 1, 'chat', 'bench-model', 'completed', ?, ?, ?, ?)
                    """)
                for row in rows {
                    try statement.execute(arguments: [
                        UUID().uuidString.lowercased(), row.workspaceId, row.threadId, row.userId, row.prompt, row.response,
                        row.feedback, row.prompt.utf8.count / 4, row.response.utf8.count / 4, row.created, row.created.addingTimeInterval(3),
                    ])
                }
            }
            inserted += count
            let seconds = BenchStats.milliseconds(started.duration(to: .now)) / 1000
            FileHandle.standardError.write(Data("\rseeded \(inserted)/\(chats) chats (\(Int(Double(inserted) / seconds)) chats/s)".utf8))
        }
        FileHandle.standardError.write(Data("\n".utf8))
        let seconds = BenchStats.milliseconds(started.duration(to: .now)) / 1000
        let path = storage.directory.appendingPathComponent("agenthost.sqlite").path
        let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0
        print("Seeded \(chats) chats (\(users) users, \(workspaces) workspaces × \(threads) threads) in \(BenchStats.format(seconds, 1)) s "
              + "(\(Int(Double(chats) / seconds)) chats/s); database \(size / 1_000_000) MB at \(path)")
    }
}

struct SeedRow: Sendable {
    var workspaceId: Int64
    var threadId: Int64?
    var userId: Int64
    var prompt: String
    var response: String
    var feedback: Bool?
    var created: Date
}

/// `agenthost bench-search`: search latency for common and rare words over a seeded database.
struct BenchSearchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench-search", abstract: "Search latency (p50/p99) for common and rare words; run bench-seed first.")

    @OptionGroup var storage: StorageOptions
    @Option(help: "Measured queries per case.") var queries = 200

    func run() async throws {
        let store = try storage.openStore()
        let corpus = BenchCorpus()
        let total = try await store.writer.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM workspace_chats") ?? 0 }
        let someUser = try await store.writer.read { db in
            try Int64.fetchOne(db, sql: "SELECT user_id FROM workspace_chats WHERE user_id IS NOT NULL LIMIT 1")
        }
        print("Search over \(total) chats, \(queries) queries per case, first page of 20 (bm25 order + snippets):")
        print("case                                   matches    p50 ms   p99 ms  mean ms")
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
        ]
        for (name, text, viewer) in cases {
            let match = SearchQueryParser.matchExpression(text) ?? "\"\""
            let matches = try await store.writer.read { db in
                try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM workspace_chats_fts WHERE workspace_chats_fts MATCH ?", arguments: [match]) ?? 0
            }
            for _ in 0..<3 { _ = try await store.search(ChatSearchQuery(text: text), viewer: viewer) }
            var times: [Double] = []
            for _ in 0..<queries {
                let start = ContinuousClock.now
                _ = try await store.search(ChatSearchQuery(text: text), viewer: viewer)
                times.append(BenchStats.milliseconds(start.duration(to: .now)))
            }
            times.sort()
            let mean = times.reduce(0, +) / Double(times.count)
            print(name.padding(toLength: 38, withPad: " ", startingAt: 0)
                  + String(matches).leftPad(8) + BenchStats.format(BenchStats.percentile(times, 0.5)).leftPad(10)
                  + BenchStats.format(BenchStats.percentile(times, 0.99)).leftPad(9) + BenchStats.format(mean).leftPad(9))
        }
    }
}

/// `agenthost bench-export`: export throughput and memory per format over a seeded database.
struct BenchExportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench-export", abstract: "Export throughput (MB/s) and RSS growth per format; run bench-seed first.")

    @OptionGroup var storage: StorageOptions
    @Option(help: "Comma-separated formats.") var formats = ExportFormat.allCases.map(\.rawValue).joined(separator: ",")

    func run() async throws {
        let store = try storage.openStore()
        let exporter = ChatExporter(source: store)
        print("format     chats      MB   seconds    MB/s   RSS before   peak RSS   growth")
        for name in formats.split(separator: ",") {
            guard let format = ExportFormat(rawValue: String(name)) else { throw ValidationError("Unknown format '\(name)'.") }
            let before = BenchStats.residentBytes()
            var peak = before
            var bytes = 0
            let start = ContinuousClock.now
            let count = try await exporter.export(
                format: format, filter: ExportFilter(), viewer: .singleUser, metadata: ExportMetadata(generatedAt: Date(), filters: []),
                progress: { _, _ in peak = max(peak, BenchStats.residentBytes()) }
            ) { chunk in bytes += chunk.count }
            let seconds = BenchStats.milliseconds(start.duration(to: .now)) / 1000
            peak = max(peak, BenchStats.residentBytes())
            let megabytes = Double(bytes) / 1e6
            print(format.rawValue.padding(toLength: 8, withPad: " ", startingAt: 0) + String(count).leftPad(8)
                  + BenchStats.format(megabytes, 0).leftPad(8) + BenchStats.format(seconds, 1).leftPad(10)
                  + BenchStats.format(megabytes / seconds, 1).leftPad(8) + "\(before / 1_000_000) MB".leftPad(13)
                  + "\(peak / 1_000_000) MB".leftPad(11) + "\((peak - before) / 1_000_000) MB".leftPad(9))
        }
    }
}

extension String {
    fileprivate func leftPad(_ width: Int) -> String {
        count >= width ? self : String(repeating: " ", count: width - count) + self
    }
}
