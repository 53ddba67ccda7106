import AgentHost
import AgentHostTesting
import ArgumentParser
import ChatBridge
import Foundation
import GRDB

extension BenchCommand {
    /// `agenthost-bench seed`: fills a database with synthetic chats for the search and export benchmarks.
    struct Seed: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "seed",
            abstract: "Fill a database with synthetic chats (Zipf-distributed words) for `bench search` and `bench export`.")

        @OptionGroup var storage: StorageOptions
        @Option(help: "Chats to add.") var chats = 1_000_000
        @Option(help: "Users owning the chats.") var users = 20
        @Option(help: "Workspaces.") var workspaces = 10
        @Option(help: "Threads per workspace (chats also go to the default thread).") var threads = 20
        @Option(help: "Chats per transaction.") var batch = 10_000
        @Flag(help: "Add to a database that holds data other than earlier seeds.") var force = false

        func run() async throws {
            let store = try storage.openStore()
            let writer = store.writer
            // The default data directory is the server's: a million made-up chats and 20 users there would
            // bury real data and switch the server to multi-user mode.
            let foreign = try await writer.read { db in
                try Int.fetchOne(db, sql: """
                    SELECT (SELECT COUNT(*) FROM users WHERE password_hash != 'bench-no-login')
                         + (SELECT COUNT(*) FROM workspace_chats WHERE model IS NOT 'bench-model')
                    """) ?? 0
            }
            guard foreign == 0 || force else {
                throw ValidationError("\(storage.directory.path) holds real users or chats; seed a fresh --data-dir, or pass --force.")
            }
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
                let seconds = started.duration(to: .now).seconds
                FileHandle.standardError.write(Data("\rseeded \(inserted)/\(chats) chats (\(Int(Double(inserted) / seconds)) chats/s)".utf8))
            }
            FileHandle.standardError.write(Data("\n".utf8))
            let seconds = started.duration(to: .now).seconds
            let path = storage.directory.appendingPathComponent("agenthost.sqlite").path
            let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0
            print("Seeded \(chats) chats (\(users) users, \(workspaces) workspaces × \(threads) threads) in \(BenchFormat.number(seconds, decimals: 1)) s "
                  + "(\(Int(Double(chats) / seconds)) chats/s); database \(size / 1_000_000) MB at \(path)")
        }
    }

    private struct SeedRow: Sendable {
        var workspaceId: Int64
        var threadId: Int64?
        var userId: Int64
        var prompt: String
        var response: String
        var feedback: Bool?
        var created: Date
    }
}
