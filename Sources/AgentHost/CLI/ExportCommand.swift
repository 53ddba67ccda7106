import ArgumentParser
import ChatBridge
import Foundation

/// `agenthost export`: the same bytes as `POST /api/chats/export/`, written to a file, with a
/// progress bar when stderr is a terminal. Runs as an administrator (it opens the database directly:
/// the SQLite file of the data directory, or PostgreSQL with `--database-url`).
struct ExportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export", abstract: "Export chats as json, jsonl, csv, txt, pdf, md or alpaca.")

    @OptionGroup var storage: StorageOptions
    @OptionGroup var database: DatabaseOptions
    @Option(help: "json, jsonl, csv, txt, pdf, md or alpaca.") var format: String
    @Option(help: "Only this workspace (slug).") var workspace: String?
    @Option(help: "Only this thread (slug; needs --workspace).") var thread: String?
    @Option(help: "Only chats created at or after this RFC 3339 time (or YYYY-MM-DD).") var from: String?
    @Option(help: "Only chats created at or before this RFC 3339 time (or YYYY-MM-DD, that whole day).") var to: String?
    @Option(help: "Only this user's chats (username or id).") var user: String?
    @Option(help: "Only chats rated true (good) or false (bad).") var feedback: Bool?
    @Option(help: "The file to write; - for standard output.") var out: String

    func validate() throws {
        guard ExportFormat(rawValue: format.lowercased()) != nil else {
            throw ValidationError("--format must be one of \(ExportFormat.allCases.map(\.rawValue).joined(separator: ", ")).")
        }
        if thread != nil, workspace == nil { throw ValidationError("--thread needs --workspace: thread slugs are per workspace.") }
        for (name, value) in [("--from", from), ("--to", to)] {
            if let value, Timestamp.date(from: value) == nil {
                throw ValidationError("\(name) must be an RFC 3339 time such as 2026-01-31T12:00:00Z; got '\(value)'.")
            }
        }
    }

    func run() async throws {
        let (count, bytes, elapsed) = try await database.withStorage(storage: storage) { stores in
            try await export(from: stores)
        }
        guard out != "-" else { return }
        let megabytes = String(format: "%.1f", Double(bytes) / 1e6)
        FileHandle.standardError.write(Data(
            "Exported \(count) chats (\(format.lowercased()), \(megabytes) MB) to \(out) in \(elapsed.formatted(.units(allowed: [.seconds, .milliseconds]))).\n".utf8))
    }

    /// Writes the export; the number of chats and bytes, and how long it took.
    private func export(from stores: Storage) async throws -> (count: Int, bytes: Int, elapsed: Duration) {
        let format = ExportFormat(rawValue: format.lowercased())!
        let resolved: ChatFilterResolver.Resolved
        do {
            resolved = try await ChatFilterResolver(chats: stores.chats, accounts: stores.accounts).resolve(
                workspace: workspace, thread: thread, user: user, principal: .singleUser, action: "export other users' chats")
        } catch let error as APIError {
            throw ValidationError(error.message)
        }
        let filter = ExportFilter(workspaceId: resolved.workspaceId, threadId: resolved.threadId, userId: resolved.userId,
                                  from: from.flatMap(Timestamp.date), to: to.flatMap(Timestamp.endDate), feedback: feedback)
        let metadata = ExportMetadata(generatedAt: Date(), filters: ExportController.labels(resolved.labels, filter: filter))

        // The file appears under its name only when complete: a failed or interrupted export leaves
        // no truncated file that looks like a finished one.
        let partial = out + ".part"
        let handle: FileHandle
        if out == "-" {
            handle = FileHandle.standardOutput
        } else {
            guard FileManager.default.createFile(atPath: partial, contents: nil) else {
                throw ValidationError("Cannot create '\(partial)'.")
            }
            handle = try FileHandle(forWritingTo: URL(fileURLWithPath: partial))
        }
        var finished = false
        defer {
            if out != "-" {
                try? handle.close()
                if !finished { try? FileManager.default.removeItem(atPath: partial) }
            }
        }
        var bar = ProgressBar(enabled: isatty(STDERR_FILENO) == 1)
        var bytes = 0
        let started = ContinuousClock.now
        let count = try await ChatExporter(source: stores.export).export(
            format: format, filter: filter, viewer: .singleUser, metadata: metadata,
            progress: { done, total in bar.update(done: done, total: total) }
        ) { chunk in
            try handle.write(contentsOf: chunk)
            bytes += chunk.count
        }
        bar.finish()
        let elapsed = started.duration(to: .now)
        if out != "-" {
            try handle.synchronize()
            if FileManager.default.fileExists(atPath: out) { try FileManager.default.removeItem(atPath: out) }
            try FileManager.default.moveItem(atPath: partial, toPath: out)
            finished = true
        }
        return (count, bytes, elapsed)
    }
}

/// `[#########.........] 12345/100000  12%` on stderr, redrawn in place; silent when not a terminal.
struct ProgressBar {
    let enabled: Bool
    private var lastDrawn = -1
    private var lastDone = 0
    private var lastTotal = 0

    init(enabled: Bool) { self.enabled = enabled }

    mutating func update(done: Int, total: Int) {
        lastDone = done
        lastTotal = total
        guard enabled else { return }
        let permille = total == 0 ? 1000 : min(1000, done * 1000 / total)
        guard permille != lastDrawn else { return }
        lastDrawn = permille
        let width = 30
        let filled = permille * width / 1000
        let bar = String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled)
        FileHandle.standardError.write(Data("\r[\(bar)] \(done)/\(total) \(String(format: "%5.1f", Double(permille) / 10))%".utf8))
    }

    mutating func finish() {
        guard enabled else { return }
        lastDrawn = -1
        update(done: lastDone, total: max(lastTotal, lastDone))
        FileHandle.standardError.write(Data("\n".utf8))
    }
}
