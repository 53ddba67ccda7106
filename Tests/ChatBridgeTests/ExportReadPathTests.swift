import Foundation
import GRDB
import Testing

@testable import ChatBridge

/// The export's read path decodes rows itself (timestamps from their stored text, a count without the
/// table scan) and the CSV encoder spells numbers and timestamps without Strings: these compare what
/// they give with what GRDB's own decoding and the String cells give, over data with every spelling
/// a stored value can have.
@Suite("Export read path")
struct ExportReadPathTests {
    /// Chats over two workspaces, a thread, two users and ownerless ones, with quotes, commas, new lines,
    /// formula starts, unicode, empty and NULL fields, streaming and failed chats, and timestamps in every
    /// spelling SQLite may hold: GRDB's `YYYY-MM-DD HH:MM:SS.SSS`, without the fraction, other fraction
    /// lengths, a `T`, dates before 1970 and near 2001 (where the order of the arithmetic shows in the
    /// last bit), numbers.
    static func store() async throws -> SQLiteStore {
        let store = SQLiteStore(writer: try AppDatabase.inMemory())
        let alice = try await store.createUser(User(username: "alice", passwordHash: "x"))
        let bob = try await store.createUser(User(username: "bo\"b, \"", passwordHash: "x"))
        let docs = try await store.createWorkspace(Workspace(name: "Docs", slug: ""))
        let support = try await store.createWorkspace(Workspace(name: "Support", slug: ""))
        let billing = try await store.createThread(workspaceId: support.id!, userId: alice.id, name: "Billing")
        let texts = ["Plain", "Commas, \"quotes\" and\nnew lines\r\nin one cell", "=SUM(A1:A9)", "-1", "", "@x", "\tTab",
                     "Unicode: café, 日本語, Привет, 🙂👩‍👩‍👧", "\r", "a\"", "\u{0}nul", String(repeating: "long, ", count: 300)]
        let stamps: [DatabaseValue] = [
            "2026-11-25 10:40:14.123".databaseValue, "2000-12-27 09:44:42.182".databaseValue, "2000-12-24 18:51:15.984".databaseValue, "2001-01-04 10:36:55.492".databaseValue,
            "2001-01-01 00:00:00.000".databaseValue, "2026-11-25 10:40:14".databaseValue, "1970-01-01 00:00:00.000".databaseValue, "1969-12-31 23:59:59.999".databaseValue,
            "2026-11-25T10:40:14.123".databaseValue, "2026-11-25 10:40:14.1".databaseValue, "2026-11-25 10:40:14.12".databaseValue, "2026-11-25 10:40:14.123456".databaseValue,
            "2024-02-29 23:59:59.999".databaseValue, "2023-02-29 12:00:00.000".databaseValue, "9999-12-31 23:59:59.999".databaseValue, "2026-11-25 10:40".databaseValue,
            "2026-11-25".databaseValue, "2026-11-25 10:40:14.123Z".databaseValue, "2026-11-25 10:40:14.12Z".databaseValue, 1_800_000_000.5.databaseValue, 1_700_000_000.databaseValue,
        ]
        var rng = SystemRandomNumberGenerator()
        for index in 0..<120 {
            let workspace = index % 3 == 0 ? docs : support
            let thread = workspace.id == support.id && index % 2 == 0 ? billing : nil
            let user = [alice.id, bob.id, nil][index % 3]
            let chat = try await store.beginChat(Chat(
                workspaceId: workspace.id!, threadId: thread?.id, userId: user, prompt: texts[index % texts.count],
                attachments: index % 5 == 1 ? [AttachmentInfo(name: "notes, \"v2\".txt", mime: "text/plain", size: 42)] : [],
                apiSessionId: index % 4 == 2 ? "=session" : nil, model: index % 7 == 3 ? nil : "m,1"), dailyLimit: nil, now: Date())
            if index % 11 == 5 { continue }  // still streaming: neither counted nor exported
            try await store.finishChat(id: chat.id!, outcome: ChatOutcome(
                response: texts[(index * 5) % texts.count], status: index % 9 == 4 ? .failed : .completed,
                usage: index % 6 == 0 ? nil : Usage(promptTokens: index, completionTokens: 1000 * index), model: "m,1",
                sources: index % 5 == 2 ? [ChatSource(title: "Guide, \"1\"", chunk: "x\ny", score: 0.75, documentId: 3)] : []))
            if index % 8 == 1 { _ = try await store.setFeedback(chatId: chat.id!, feedback: index % 16 == 1, viewer: .singleUser) }
            // Random instants over the four-digit years with random milliseconds, then the fixed spellings.
            let random = String(format: "%04d-%02d-%02d %02d:%02d:%02d.%03d", Int.random(in: 1970...9999, using: &rng),
                                Int.random(in: 1...12, using: &rng), Int.random(in: 1...28, using: &rng), Int.random(in: 0...23, using: &rng),
                                Int.random(in: 0...59, using: &rng), Int.random(in: 0...59, using: &rng), Int.random(in: 0...999, using: &rng))
            let created: DatabaseValue = index < stamps.count ? stamps[index] : random.databaseValue
            try await store.writer.write { db in
                try db.execute(sql: "UPDATE workspace_chats SET created_at = ?, updated_at = ? WHERE id = ?",
                               arguments: [created, stamps[(index * 7) % stamps.count], chat.id])
                // Negative and large token counts, as the cells' spelling must hold them too.
                if index == 7 { try db.execute(sql: "UPDATE workspace_chats SET prompt_tokens = -5, completion_tokens = ? WHERE id = ?",
                                               arguments: [Int64.max, chat.id]) }
            }
        }
        return store
    }

    /// Every chat of the export, chunk by chunk (as the exporter reads them).
    static func exported(_ store: SQLiteStore, _ filter: ExportFilter = ExportFilter(), viewer: Viewer = .singleUser) async throws -> [ExportRecord] {
        var records: [ExportRecord] = []
        var after: ExportPosition?
        for _ in 0..<1000 {  // bounded
            let chunk = try await store.exportChunk(filter, viewer: viewer, after: after, limit: 7)
            records += chunk
            guard chunk.count == 7, let last = chunk.last else { break }
            after = ExportPosition(last.chat)
        }
        return records
    }

    /// The export's chats are GRDB's `Chat` records, timestamps bit for bit, whatever their stored spelling.
    @Test func exportedChatsAreWhatGRDBDecodes() async throws {
        let store = try await Self.store()
        let records = try await Self.exported(store)
        let chats = try await store.writer.read { db in
            try Chat.fetchAll(db, sql: "SELECT * FROM workspace_chats WHERE status != 'streaming' ORDER BY workspace_id, IFNULL(thread_id, 0), id")
        }
        #expect(records.count == chats.count)
        #expect(records.count > 100)
        for (record, chat) in zip(records, chats) {
            #expect(record.chat == chat, "chat \(chat.id ?? 0)")
            #expect(record.chat.createdAt.timeIntervalSinceReferenceDate.bitPattern == chat.createdAt.timeIntervalSinceReferenceDate.bitPattern)
            #expect(record.chat.updatedAt.timeIntervalSinceReferenceDate.bitPattern == chat.updatedAt.timeIntervalSinceReferenceDate.bitPattern)
        }
    }

    /// The CSV is byte for byte what String cells (the encoder's spelling before numbers and timestamps
    /// went straight into the output) give.
    @Test func csvIsByteForByteTheStringCells() async throws {
        let store = try await Self.store()
        var csv: [UInt8] = []
        try await ChatExporter(source: store, chunkSize: 7, flushSize: 100).export(
            format: .csv, filter: ExportFilter(), viewer: .singleUser, metadata: ExportMetadata(generatedAt: Date(), filters: [])
        ) { csv += $0 }
        var expected: [UInt8] = []
        CSVExportEncoder.writeRow(CSVExportEncoder.header, into: &expected)
        for record in try await Self.exported(store) {
            let chat = record.chat
            var sources: [UInt8] = []
            ExportJSON.writeSources(chat.sources, into: &sources)
            var attachments: [UInt8] = []
            ExportJSON.writeAttachments(chat.attachments, into: &attachments)
            CSVExportEncoder.writeRow([
                chat.id.map(String.init) ?? "", chat.chatUuid, record.entry.workspaceSlug, record.entry.threadSlug ?? "",
                chat.userId.map(String.init) ?? "", record.username ?? "", Timestamp.string(from: chat.createdAt),
                Timestamp.string(from: chat.updatedAt), chat.status.rawValue, chat.mode.rawValue, chat.model ?? "",
                chat.feedback.map { $0 ? "true" : "false" } ?? "", chat.include ? "true" : "false", chat.apiSessionId ?? "",
                chat.promptTokens.map(String.init) ?? "", chat.completionTokens.map(String.init) ?? "", chat.prompt, chat.response,
                String(decoding: sources, as: UTF8.self), String(decoding: attachments, as: UTF8.self),
            ], into: &expected)
        }
        #expect(csv.count > 10_000)
        #expect(csv == expected)
        let text = String(decoding: csv, as: UTF8.self)
        #expect(text.contains(",'-5,9223372036854775807,"))
    }

    @Test func decimalsAreSpeltAsStringDoes() {
        var values: [Int64] = [0, 1, -1, 9, 10, -10, 99, 100, 12_345, Int64.max, Int64.min, Int64.min + 1]
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<2000 { values.append(Int64.random(in: Int64.min...Int64.max, using: &rng) >> Int64.random(in: 0...63, using: &rng)) }
        for value in values {
            var bytes: [UInt8] = [0x41]
            CSVExportEncoder.appendDecimal(value, to: &bytes)
            #expect(bytes == [0x41] + Array(String(value).utf8), "\(value)")
        }
    }

    /// The count is the number of chats the export writes, for every filter and viewer, with streaming
    /// chats among them (which the count leaves out through its own index).
    @Test func theCountIsTheNumberExported() async throws {
        let store = try await Self.store()
        let (alice, bob, docs) = try await store.writer.read { db in
            (try Int64.fetchOne(db, sql: "SELECT id FROM users WHERE username = 'alice'")!,
             try Int64.fetchOne(db, sql: "SELECT id FROM users WHERE username != 'alice'")!,
             try Int64.fetchOne(db, sql: "SELECT id FROM workspaces WHERE slug = 'docs'")!)
        }
        let streaming = try await store.writer.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM workspace_chats WHERE status = 'streaming'")! }
        #expect(streaming > 5)
        let cases: [(ExportFilter, Viewer)] = [
            (ExportFilter(), .singleUser), (ExportFilter(), Viewer(userId: alice, isAdmin: false)),
            (ExportFilter(), Viewer(userId: bob, isAdmin: false)), (ExportFilter(userId: alice), .singleUser),
            (ExportFilter(workspaceId: docs), .singleUser), (ExportFilter(workspaceId: docs), Viewer(userId: alice, isAdmin: false)),
            (ExportFilter(feedback: true), .singleUser), (ExportFilter(feedback: false), .singleUser),
            (ExportFilter(from: Date(timeIntervalSince1970: 1_700_000_000)), .singleUser),
            (ExportFilter(to: Date(timeIntervalSince1970: 1_800_000_000)), Viewer(userId: bob, isAdmin: false)),
            (ExportFilter(workspaceId: docs, from: Date.distantFuture), .singleUser),
        ]
        for (filter, viewer) in cases {
            let count = try await store.exportCount(filter, viewer: viewer)
            #expect(count == (try await Self.exported(store, filter, viewer: viewer)).count, "\(filter) \(viewer)")
        }
        #expect(try await store.exportCount(ExportFilter(), viewer: .singleUser) > 100)
    }

    /// The transcript encoder's `write` as it was (Strings per line), the reference for the byte runs.
    static func legacyTranscript(_ record: ExportRecord, markdown: Bool, into output: inout [UInt8]) {
        typealias Encoder = TranscriptExportEncoder
        let chat = record.chat
        let who = record.username ?? (chat.userId.map { "user \($0)" } ?? "user")
        var assistant = "assistant" + (chat.model.map { " (\($0))" } ?? "")
        if chat.status != .completed { assistant += " [\(chat.status.rawValue)]" }
        var notes: [String] = []
        if let feedback = chat.feedback { notes.append("feedback: \(feedback ? "positive" : "negative")") }
        if !chat.include { notes.append("excluded from context") }
        if !chat.attachments.isEmpty { notes.append("attachments: " + chat.attachments.map(\.name).joined(separator: ", ")) }
        if !chat.sources.isEmpty { notes.append("sources: " + chat.sources.map(\.title).joined(separator: ", ")) }
        let created = Timestamp.string(from: chat.createdAt)
        let updated = Timestamp.string(from: chat.updatedAt)
        if markdown {
            output.append(contentsOf: "\n### \(Encoder.markdownInline(who)) · \(created) · chat \(chat.id ?? 0)\n\n".utf8)
            output.append(contentsOf: Encoder.blockquote(chat.prompt).utf8)
            output.append(contentsOf: "\n\n**\(Encoder.markdownInline(assistant))** · \(updated)\n\n".utf8)
            output.append(contentsOf: (chat.response.isEmpty ? "_(no response)_" : Encoder.normalizeNewlines(chat.response)).utf8)
            output.append(0x0A)
            if let fence = Encoder.unclosedFence(in: chat.response) { output.append(contentsOf: "\(fence)\n".utf8) }
            if !notes.isEmpty { output.append(contentsOf: "\n_\(Encoder.markdownInline(notes.joined(separator: "; ")))_\n".utf8) }
        } else {
            output.append(contentsOf: "\n[\(created)] \(who) (chat \(chat.id ?? 0)):\n".utf8)
            output.append(contentsOf: Encoder.indent(chat.prompt).utf8)
            output.append(contentsOf: "\n[\(updated)] \(assistant):\n".utf8)
            output.append(contentsOf: Encoder.indent(chat.response.isEmpty ? "(no response)" : chat.response).utf8)
            if !notes.isEmpty { output.append(contentsOf: "    -- \(notes.joined(separator: "; "))\n".utf8) }
        }
    }

    /// Texts for transcripts: fences (open, closed, indented, after spaces, with a combining mark, the Greek
    /// varia that is canonically a backtick), CR and CRLF line ends, empty lines, Markdown's special
    /// characters in names and models, combining marks after a new line.
    static let transcriptTexts = [
        "", "plain", "\n", "\n\n", "a\n", "\na", "one\n\ntwo\n", "Here:\n```swift\nlet x = 1\n", "```\ncode\n```\ntext",
        "   ```\nopen after three spaces", "    ```\nindented is code", "~~~\ncode", "````\n```\nstill", "``\u{301}`\nx",
        "```\u{301}\nx", "\u{1FEF}\u{1FEF}\u{1FEF}\nvaria fence", "CRLF\r\nlines\r\n", "CR\rline", "mixed\r\n```\n",
        "\n\u{301}combining after LF", "*bold* _it_ [link](x) <b> #h |t| \\ `c`", "Unicode: café, 日本語, 🙂👩‍👩‍👧\n> quoted",
        String(repeating: "long line, ", count: 400) + "\n" + String(repeating: "x", count: 3000),
    ]

    /// The Markdown and text transcripts are byte for byte what the String-per-line encoder wrote.
    @Test func transcriptsAreByteForByteTheStringEncoders() async throws {
        let store = SQLiteStore(writer: try AppDatabase.inMemory())
        let names = ["alice", "b*o_b [x]", "c|d#\\e", "plain"]
        var users: [User] = []
        for name in names { users.append(try await store.createUser(User(username: name, passwordHash: "x"))) }
        let docs = try await store.createWorkspace(Workspace(name: "Docs", slug: ""))
        let thread = try await store.createThread(workspaceId: docs.id!, userId: users[0].id, name: "T_1 *x*")
        let texts = Self.transcriptTexts
        for index in 0..<(texts.count * 3) {
            let chat = try await store.beginChat(Chat(
                workspaceId: docs.id!, threadId: index % 4 == 1 ? thread.id : nil, userId: index % 5 == 4 ? nil : users[index % 4].id,
                prompt: texts[index % texts.count],
                attachments: index % 6 == 1 ? [AttachmentInfo(name: "a_b*.txt", mime: "text/plain", size: 1)] : [],
                model: [nil, "m_1", "gpt-*4*", "plain"][index % 4]), dailyLimit: nil, now: Date())
            try await store.finishChat(id: chat.id!, outcome: ChatOutcome(
                response: texts[(index * 7 + 3) % texts.count], status: [.completed, .failed, .cancelled][index % 3],
                usage: nil, model: [nil, "m_1", "gpt-*4*", "plain"][index % 4],
                sources: index % 7 == 2 ? [ChatSource(title: "G|uide_1", chunk: "x", score: 0.5, documentId: 1)] : []))
            if index % 5 == 2 { _ = try await store.setFeedback(chatId: chat.id!, feedback: index % 10 == 2, viewer: .singleUser) }
            if index % 8 == 3 {
                try await store.writer.write { db in try db.execute(sql: "UPDATE workspace_chats SET include = 0 WHERE id = ?", arguments: [chat.id]) }
            }
        }
        let records = try await Self.exported(store)
        #expect(records.count == texts.count * 3)
        for markdown in [true, false] {
            var encoder = TranscriptExportEncoder(markdown: markdown)
            var fast: [UInt8] = []
            var legacy: [UInt8] = []
            var conversation: (String, String?)?
            for record in records {
                // The conversation headers, as the encoder (unchanged there) writes them.
                let key = (record.entry.workspaceSlug, record.entry.threadSlug)
                if conversation == nil || conversation! != key {
                    conversation = key
                    let title = "Workspace \(key.0) · Thread \(key.1 ?? "(default)")"
                    let rule = String(repeating: "=", count: min(78, max(20, title.count)))
                    legacy.append(contentsOf: (markdown ? "\n## \(title)\n" : "\n\(rule)\n\(title)\n\(rule)\n").utf8)
                }
                var one: [UInt8] = []
                Self.legacyTranscript(record, markdown: markdown, into: &one)
                legacy += one
                let before = fast.count
                encoder.write(record, into: &fast)
                #expect(fast.suffix(from: before).suffix(one.count).elementsEqual(one),
                        "chat \(record.chat.id ?? 0), markdown \(markdown): \(record.chat.prompt.debugDescription) / \(record.chat.response.debugDescription)")
            }
            #expect(fast == legacy, "markdown \(markdown)")
            #expect(fast.count > 10_000)
        }
    }
}
