import Foundation
import GRDB
import Testing

@testable import ChatBridge

/// A strict RFC 4180 reader: quoted fields with doubled quotes, commas, CR and LF inside; CRLF records.
enum CSVReader {
    static func parse(_ text: String) throws -> [[String]] {
        struct Malformed: Error { var reason: String }
        var rows: [[String]] = []
        var row: [String] = []
        var field = ""
        var scalars = Array(text.unicodeScalars)[...]
        var quoted = false
        var atFieldStart = true
        while let scalar = scalars.popFirst() {
            if quoted {
                if scalar == "\"" {
                    if scalars.first == "\"" { scalars.removeFirst(); field.unicodeScalars.append("\"") } else { quoted = false }
                } else {
                    field.unicodeScalars.append(scalar)
                }
                continue
            }
            switch scalar {
            case "\"":
                guard atFieldStart else { throw Malformed(reason: "quote inside an unquoted field") }
                quoted = true
                atFieldStart = false
            case ",":
                row.append(field); field = ""; atFieldStart = true
            case "\r":
                guard scalars.popFirst() == "\n" else { throw Malformed(reason: "CR without LF") }
                row.append(field); rows.append(row); row = []; field = ""; atFieldStart = true
            case "\n":
                throw Malformed(reason: "bare LF line end")
            default:
                field.unicodeScalars.append(scalar); atFieldStart = false
            }
        }
        guard !quoted else { throw Malformed(reason: "unterminated quote") }
        if !row.isEmpty || !field.isEmpty { throw Malformed(reason: "last record without CRLF") }
        return rows
    }
}

@Suite("Chat export")
struct ExportTests {
    struct Fixture {
        let store: SQLiteStore
        let alice: User
        let bob: User
        var chats: [Chat] = []

        static let prompts = [
            "Plain question?",
            "Commas, \"quotes\" and\nnew lines\r\nin one cell",
            "=SUM(A1:A9)",
            "-1 + 2",
            "+cmd|' /C calc'!A0",
            "@import danger",
            "Unicode: café, naïve, Grüße, 日本語, Привет, emoji 🙂👩‍👩‍👧",
            "\tTabbed start",
        ]

        init() async throws {
            store = SQLiteStore(writer: try AppDatabase.inMemory())
            alice = try await store.createUser(User(username: "alice", passwordHash: "x"))
            bob = try await store.createUser(User(username: "bob", passwordHash: "x"))
            let docs = try await store.createWorkspace(Workspace(name: "Docs", slug: ""))
            let support = try await store.createWorkspace(Workspace(name: "Support", slug: ""))
            let billing = try await store.createThread(workspaceId: support.id!, userId: alice.id, name: "Billing")
            for (index, prompt) in Self.prompts.enumerated() {
                let workspace = index % 2 == 0 ? docs : support
                let thread = index % 3 == 0 && workspace.id == support.id ? billing : nil
                var chat = try await store.beginChat(Chat(
                    workspaceId: workspace.id!, threadId: thread?.id, userId: index == 7 ? bob.id : alice.id, prompt: prompt,
                    attachments: index == 1 ? [AttachmentInfo(name: "notes, v2.txt", mime: "text/plain", size: 42)] : [],
                    apiSessionId: index == 2 ? "session-1" : nil, model: "m1"), dailyLimit: nil, now: Date())
                let response = index == 3 ? "" : "Answer \(index): " + prompt.uppercased() + " — with «quotes» and “curly” ones"
                try await store.finishChat(id: chat.id!, outcome: ChatOutcome(
                    response: response, status: index == 5 ? .cancelled : .completed,
                    usage: Usage(promptTokens: 10 + index, completionTokens: 20 + index), model: "m1",
                    sources: index == 4 ? [ChatSource(title: "Guide, part 1", chunk: "text \"quoted\"", score: 0.75, documentId: 3)] : []))
                if index == 6 { _ = try await store.setFeedback(chatId: chat.id!, feedback: true, viewer: .singleUser) }
                if index == 2 { _ = try await store.setFeedback(chatId: chat.id!, feedback: false, viewer: .singleUser) }
                chat = try #require(try await store.chat(id: chat.id!, viewer: .singleUser)).chat
                chats.append(chat)
            }
            // Still streaming: never exported.
            _ = try await store.beginChat(Chat(workspaceId: docs.id!, threadId: nil, userId: alice.id, prompt: "in flight"),
                                          dailyLimit: nil, now: Date())
        }

        func export(_ format: ExportFormat, filter: ExportFilter = ExportFilter(), viewer: Viewer = .singleUser,
                    chunkSize: Int = 3) async throws -> [UInt8] {
            var bytes: [UInt8] = []
            try await ChatExporter(source: store, chunkSize: chunkSize, flushSize: 100).export(
                format: format, filter: filter, viewer: viewer,
                metadata: ExportMetadata(generatedAt: Date(timeIntervalSince1970: 1_800_000_000), filters: [("workspace", "all")])
            ) { bytes += $0 }
            return bytes
        }
    }

    /// The export order: workspace, then thread (default first), then id.
    static func exportOrder(_ chats: [Chat]) -> [Chat] {
        chats.sorted { ($0.workspaceId, $0.threadId ?? 0, $0.id!) < ($1.workspaceId, $1.threadId ?? 0, $1.id!) }
    }

    @Test func jsonIsAnArrayOfFullChatsMatchingTheDatabase() async throws {
        let fixture = try await Fixture()
        let bytes = try await fixture.export(.json)
        let array = try #require(try JSONSerialization.jsonObject(with: Data(bytes)) as? [[String: Any]])
        let expected = Self.exportOrder(fixture.chats)
        #expect(array.count == expected.count)
        for (object, chat) in zip(array, expected) {
            #expect(object["db_id"] as? Int == Int(chat.id!))
            #expect(object["chat_id"] as? String == chat.chatUuid)
            #expect(object["prompt"] as? String == chat.prompt)
            #expect(object["response"] as? String == chat.response)
            #expect(object["status"] as? String == chat.status.rawValue)
            #expect(object["username"] as? String == (chat.userId == fixture.bob.id ? "bob" : "alice"))
            #expect(object["model"] as? String == "m1")
            #expect((object["usage"] as? [String: Any])?["prompt_tokens"] as? Int == chat.promptTokens)
            #expect(Timestamp.date(from: object["created_at"] as? String ?? "") == chat.createdAt)
            #expect(Timestamp.date(from: object["updated_at"] as? String ?? "") == chat.updatedAt)
            for key in ["workspace", "thread", "user_id", "sources", "attachments", "feedback", "include", "api_session_id", "mode"] {
                #expect(object.keys.contains(key), "missing \(key)")
            }
            if let feedback = chat.feedback { #expect(object["feedback"] as? Bool == feedback) } else { #expect(object["feedback"] is NSNull) }
        }
        let withSource = try #require(array.first { ($0["sources"] as? [Any])?.isEmpty == false })
        let source = try #require((withSource["sources"] as? [[String: Any]])?.first)
        #expect(source["title"] as? String == "Guide, part 1")
        #expect(source["score"] as? Double == 0.75)
        #expect(source["document_id"] as? Int == 3)
        let withAttachment = try #require(array.first { ($0["attachments"] as? [Any])?.isEmpty == false })
        #expect((withAttachment["attachments"] as? [[String: Any]])?.first?["name"] as? String == "notes, v2.txt")
        #expect(array.contains { $0["thread"] as? String == "billing" })
        #expect(array.contains { $0["workspace"] as? String == "support" })
        // Empty export is still valid JSON.
        let none = try await fixture.export(.json, filter: ExportFilter(from: Date.distantFuture))
        #expect((try JSONSerialization.jsonObject(with: Data(none)) as? [Any])?.isEmpty == true)
    }

    @Test func jsonlHasOneDecodableChatPerLine() async throws {
        struct Line: Decodable { var db_id: Int64; var prompt: String; var response: String; var workspace: String; var thread: String? }
        let fixture = try await Fixture()
        let text = String(decoding: try await fixture.export(.jsonl, chunkSize: 2), as: UTF8.self)
        #expect(text.hasSuffix("\n"))
        let lines = text.split(separator: "\n")
        let decoded = try lines.map { try JSONDecoder().decode(Line.self, from: Data($0.utf8)) }
        #expect(decoded.map(\.db_id) == Self.exportOrder(fixture.chats).map { $0.id! })
        #expect(decoded.map(\.prompt) == Self.exportOrder(fixture.chats).map(\.prompt))
    }

    @Test func csvRoundTripsThroughAnRFC4180Reader() async throws {
        let fixture = try await Fixture()
        let text = String(decoding: try await fixture.export(.csv), as: UTF8.self)
        let rows = try CSVReader.parse(text)
        // Python's csv module, a reader spreadsheets' exports are routinely fed to, sees the same cells.
        #expect(try Self.pythonCSV(text) == rows)
        #expect(rows.first == CSVExportEncoder.header)
        let records = rows.dropFirst()
        let expected = Self.exportOrder(fixture.chats)
        #expect(records.count == expected.count)
        let column = Dictionary(uniqueKeysWithValues: CSVExportEncoder.header.enumerated().map { ($1, $0) })
        func neutral(_ text: String) -> String {
            guard let first = text.unicodeScalars.first, "=+-@\t\r".unicodeScalars.contains(first) else { return text }
            return "'" + text
        }
        for (row, chat) in zip(records, expected) {
            #expect(row.count == CSVExportEncoder.header.count)
            #expect(row[column["db_id"]!] == String(chat.id!))
            #expect(row[column["prompt"]!] == neutral(chat.prompt))
            #expect(row[column["response"]!] == neutral(chat.response))
            #expect(row[column["username"]!] == (chat.userId == fixture.bob.id ? "bob" : "alice"))
            #expect(row[column["created_at"]!] == Timestamp.string(from: chat.createdAt))
            #expect(row[column["prompt_tokens"]!] == chat.promptTokens.map(String.init))
        }
        let cells = records.flatMap { $0 }
        #expect(cells.contains("'=SUM(A1:A9)"))
        #expect(cells.contains("'-1 + 2"))
        #expect(cells.contains("'@import danger"))
        #expect(cells.contains("'\tTabbed start"))
        #expect(!cells.contains { ["=", "+", "-", "@", "\t", "\r"].contains($0.first.map(String.init) ?? "") })
        #expect(cells.contains("Commas, \"quotes\" and\nnew lines\r\nin one cell"))
        #expect(cells.contains { $0.contains("日本語, Привет, emoji 🙂👩‍👩‍👧") })
        let sources = try #require(records.map { $0[column["sources"]!] }.first { $0 != "[]" })
        #expect(try JSONSerialization.jsonObject(with: Data(sources.utf8)) is [Any])
    }

    /// Cells and JSON strings are copied in runs between the bytes that need escaping: escapes at
    /// the start, the end, next to each other and between multi-byte characters.
    @Test func escapingCopiesRunsAroundEveryEscapeExactly() throws {
        let texts = [
            "", "plain", "\"", "\"\"", "\"quoted\"", "a\"b\"\"c", "=\"x\",y", "-\"", "ends with \"", "\\", "\\\"\\",
            "tab\tcr\rlf\n", "\u{0}\u{1}\u{1F}\u{7F}", "é\"日本\"🙂\n👩‍👩‍👧", String(repeating: "long run ", count: 500) + "\"",
        ]
        for text in texts {
            var json: [UInt8] = []
            JSONValue.writeString(text, to: &json)
            let decoded = try JSONSerialization.jsonObject(with: Data("[".utf8 + json + "]".utf8)) as? [String]
            #expect(decoded == [text], "\(text.debugDescription)")
            #expect(!json.dropFirst().dropLast().contains { $0 < 0x20 }, "no raw control byte")

            var csv: [UInt8] = []
            CSVExportEncoder.writeRow([text, "next"], into: &csv)
            let rows = try CSVReader.parse(String(decoding: csv, as: UTF8.self))
            let neutral = text.unicodeScalars.first.map { "=+-@\t\r".unicodeScalars.contains($0) } == true ? "'" + text : text
            #expect(rows == [[neutral, "next"]], "\(text.debugDescription)")
        }
    }

    @Test func transcriptsAreGroupedByWorkspaceAndThread() async throws {
        let fixture = try await Fixture()
        let txt = String(decoding: try await fixture.export(.txt), as: UTF8.self)
        #expect(txt.hasPrefix("AgentHost chat export\n"))
        #expect(txt.contains("Chats:    8"))
        let headers = txt.split(separator: "\n").filter { $0.hasPrefix("Workspace ") }
        #expect(headers == ["Workspace docs · Thread (default)", "Workspace support · Thread (default)", "Workspace support · Thread billing"])
        for chat in fixture.chats {
            for line in chat.prompt.replacingOccurrences(of: "\r", with: "").split(separator: "\n") {
                #expect(txt.contains("    " + line), "\(line)")
            }
        }
        #expect(txt.contains("assistant (m1) [cancelled]"))
        #expect(txt.contains("feedback: positive"))
        #expect(!txt.contains("in flight"))

        let md = String(decoding: try await fixture.export(.md), as: UTF8.self)
        #expect(md.hasPrefix("# AgentHost chat export\n"))
        #expect(md.components(separatedBy: "\n## ").count == 4)
        #expect(md.contains("> Commas, \"quotes\" and\n> new lines\n> in one cell"))
        #expect(md.contains("### alice · "))
        #expect(md.contains("**assistant \\(m1\\)**") || md.contains("**assistant (m1)**"))
    }

    /// Chunks are read part by part (the rest of a thread, the workspace's later threads, later
    /// workspaces) until full: at every chunk size, chunks that end inside a thread, at its end, at a
    /// workspace's end, or span all three parts, join into the export order with nothing skipped or
    /// repeated, for an administrator and with a user's filter.
    @Test func chunksOfEverySizeFollowTheExportOrder() async throws {
        let store = SQLiteStore(writer: try AppDatabase.inMemory())
        let alice = try await store.createUser(User(username: "alice", passwordHash: "x"))
        var workspaces: [Workspace] = []
        var threads: [ChatThread?] = []
        for name in ["One", "Two", "Three"] {
            let workspace = try await store.createWorkspace(Workspace(name: name, slug: ""))
            workspaces.append(workspace)
            threads.append(nil)
            for thread in ["a", "b"] {
                threads.append(try await store.createThread(workspaceId: workspace.id!, userId: alice.id, name: thread))
            }
        }
        var chats: [Chat] = []
        // Ids interleave across workspaces and threads, so id order is not export order; thread "b" of the
        // last workspace has one chat, the second workspace's default thread none.
        for index in 0..<40 {
            let thread = threads[(index * 7) % threads.count]
            let workspaceId = thread?.workspaceId ?? workspaces[((index * 7) % threads.count) / 3].id!
            if thread == nil, workspaceId == workspaces[1].id { continue }
            if thread?.id == threads[8]?.id, chats.contains(where: { $0.threadId == thread?.id }) { continue }
            chats.append(try await store.beginChat(Chat(workspaceId: workspaceId, threadId: thread?.id, userId: index % 3 == 0 ? nil : alice.id,
                                                        prompt: "chat \(index)", status: index == 11 ? .streaming : .completed),
                                                   dailyLimit: nil, now: Date()))
        }
        let finished = chats.filter { $0.status != .streaming }
        for (viewer, expected) in [(Viewer.singleUser, finished), (Viewer(userId: alice.id, isAdmin: false), finished.filter { $0.userId == alice.id })] {
            let order = Self.exportOrder(expected).map(\.id)
            for size in 1...(order.count + 1) {
                var seen: [Int64?] = []
                var after: ExportPosition?
                var chunks = 0
                while chunks <= order.count + 1 {  // bounded: a cursor bug must fail, not hang
                    let chunk = try await store.exportChunk(ExportFilter(), viewer: viewer, after: after, limit: size)
                    chunks += 1
                    #expect(chunk.count <= size)
                    seen += chunk.map(\.chat.id)
                    guard chunk.count == size, let last = chunk.last else { break }
                    after = ExportPosition(last.chat)
                }
                #expect(seen == order, "chunk size \(size), admin \(viewer.isAdmin)")
            }
        }
    }

    @Test func markdownClosesACodeBlockAResponseLeftOpen() {
        #expect(TranscriptExportEncoder.unclosedFence(in: "Here:\n```swift\nlet x = 1\n") == "```")
        #expect(TranscriptExportEncoder.unclosedFence(in: "Here:\n````\n```\nstill code\n") == "````")
        #expect(TranscriptExportEncoder.unclosedFence(in: "~~~\ncode\n~~~\n") == nil)
        #expect(TranscriptExportEncoder.unclosedFence(in: "```\ncode\n```\ntext") == nil)
        #expect(TranscriptExportEncoder.unclosedFence(in: "    ```\nindented is code, not a fence") == nil)
    }

    @Test func alpacaHoldsCompletedAnsweredChats() async throws {
        struct Example: Decodable, Equatable { var instruction: String; var input: String; var output: String }
        let fixture = try await Fixture()
        let examples = try JSONDecoder().decode([Example].self, from: Data(try await fixture.export(.alpaca)))
        let expected = Self.exportOrder(fixture.chats).filter { $0.status == .completed && !$0.response.isEmpty }
        #expect(examples == expected.map { Example(instruction: $0.prompt, input: "", output: $0.response) })
        #expect(examples.count == 6)
    }

    @Test func filtersAndOwnership() async throws {
        let fixture = try await Fixture()
        func ids(_ filter: ExportFilter, viewer: Viewer = .singleUser) async throws -> [Int64] {
            let array = try JSONSerialization.jsonObject(with: Data(try await fixture.export(.json, filter: filter, viewer: viewer))) as? [[String: Any]]
            return (array ?? []).compactMap { ($0["db_id"] as? Int).map(Int64.init) }
        }
        let liked = fixture.chats.filter { $0.feedback == true }.map { $0.id! }
        #expect(try await ids(ExportFilter(feedback: true)) == liked)
        #expect(try await ids(ExportFilter(feedback: false)).count == 1)
        let bobs = fixture.chats.filter { $0.userId == fixture.bob.id }.map { $0.id! }
        #expect(try await ids(ExportFilter(), viewer: Viewer(userId: fixture.bob.id, isAdmin: false)) == bobs)
        #expect(try await ids(ExportFilter(userId: fixture.alice.id), viewer: Viewer(userId: fixture.bob.id, isAdmin: false)) == bobs)
        #expect(try await ids(ExportFilter(userId: fixture.bob.id)) == bobs)
        let docs = fixture.chats[0].workspaceId
        #expect(try await ids(ExportFilter(workspaceId: docs)).count == 4)
        #expect(try await ids(ExportFilter(to: Date.distantPast)).isEmpty)
    }

    @Test func pdfIsWellFormedAndItsTextSurvivesPdftotext() async throws {
        let fixture = try await Fixture()
        let bytes = try await fixture.export(.pdf)
        let text = String(decoding: bytes, as: UTF8.self)
        #expect(text.hasPrefix("%PDF-1.4\n"))
        #expect(text.hasSuffix("%%EOF\n"))
        try Self.checkCrossReferences(bytes)

        guard let extracted = try Self.pdftotext(bytes) else {
            Issue.record("pdftotext (poppler-utils) is not installed: install it (apt-get install -y poppler-utils) to check the PDF's text.")
            return
        }
        let flat = extracted.split(whereSeparator: \.isWhitespace).joined(separator: " ")
        #expect(flat.contains("AgentHost chat export"))
        #expect(flat.contains("Exported 2027-01-15 08:00 UTC"))
        #expect(flat.contains("workspace: all"))
        #expect(flat.contains("Page 1") && flat.contains("Page 2"))
        #expect(flat.contains("Workspace support · Thread billing"))
        for chat in fixture.chats {
            let prompt = chat.prompt.split(whereSeparator: \.isWhitespace).joined(separator: " ")
            #expect(flat.contains(prompt), "prompt not extracted: \(prompt)")
            let response = chat.response.split(whereSeparator: \.isWhitespace).joined(separator: " ")
            if !response.isEmpty { #expect(flat.contains(response), "response not extracted: \(response)") }
        }
    }

    @Test func pdfWrapsLongTextAcrossLinesAndPages() async throws {
        let store = SQLiteStore(writer: try AppDatabase.inMemory())
        let workspace = try await store.createWorkspace(Workspace(name: "W", slug: ""))
        let words = (1...1500).map { "word\($0)" }
        let long = words.joined(separator: " ") + " " + String(repeating: "x", count: 300)
        try await store.finishChat(id: try await store.beginChat(Chat(workspaceId: workspace.id!, threadId: nil, userId: nil, prompt: long),
                                                                 dailyLimit: nil, now: Date()).id!,
                                   outcome: ChatOutcome(response: "ok", status: .completed, usage: nil, model: nil))
        var bytes: [UInt8] = []
        try await ChatExporter(source: store).export(format: .pdf, filter: ExportFilter(), viewer: .singleUser,
                                                     metadata: ExportMetadata(generatedAt: Date(), filters: [])) { bytes += $0 }
        try Self.checkCrossReferences(bytes)
        for line in PDFText.wrap(long, maxWidth: 483, size: 10) {
            #expect(PDFText.width(PDFText.encode(line).bytes, size: 10, bold: false) <= 483.28)
        }
        guard let extracted = try Self.pdftotext(bytes) else {
            Issue.record("pdftotext (poppler-utils) is not installed.")
            return
        }
        let tokens = extracted.split(whereSeparator: \.isWhitespace)
        #expect(tokens.filter { $0.hasPrefix("word") } == words.map { Substring($0) })
        #expect(tokens.joined(separator: " ").contains("Page 4"))
    }

    /// Every xref entry points at its `N 0 obj`, and startxref at the table.
    static func checkCrossReferences(_ bytes: [UInt8]) throws {
        let text = String(decoding: bytes, as: UTF8.self)
        let start = try #require(text.range(of: "startxref\n", options: .backwards))
        let xrefOffset = try #require(Int(text[start.upperBound...].prefix { $0.isNumber }))
        let table = Array(bytes[xrefOffset...])
        #expect(String(decoding: table.prefix(5), as: UTF8.self) == "xref\n")
        let lines = String(decoding: table, as: UTF8.self).split(separator: "\n")
        let count = try #require(Int(lines[1].split(separator: " ")[1]))
        for number in 1..<count {
            let entry = lines[2 + number]
            let offset = try #require(Int(entry.prefix(10)))
            let header = String(decoding: bytes[offset..<min(bytes.count, offset + 20)], as: UTF8.self)
            #expect(header.hasPrefix("\(number) 0 obj\n"), "object \(number) at \(offset): \(header)")
        }
    }

    /// The rows of `text` as Python's `csv.reader` parses them.
    static func pythonCSV(_ text: String) throws -> [[String]] {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("csv-\(UUID())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let input = directory.appendingPathComponent("in.csv")
        let output = directory.appendingPathComponent("out.json")
        try Data(text.utf8).write(to: input)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", """
            import csv, json, sys
            with open(sys.argv[1], newline="", encoding="utf-8") as f, open(sys.argv[2], "w", encoding="utf-8") as out:
                json.dump(list(csv.reader(f, strict=True)), out)
            """, input.path, output.path]
        try process.run()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0, "python3's csv module could not read the export")
        return try JSONDecoder().decode([[String]].self, from: Data(contentsOf: output))
    }

    /// The text of a PDF as poppler's `pdftotext` extracts it, or nil when it is not installed.
    static func pdftotext(_ bytes: [UInt8]) throws -> String? {
        let tool = ["/usr/bin/pdftotext", "/usr/local/bin/pdftotext"].first { FileManager.default.isExecutableFile(atPath: $0) }
        guard let tool else { return nil }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("pdf-\(UUID())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let input = directory.appendingPathComponent("in.pdf")
        let output = directory.appendingPathComponent("out.txt")
        try Data(bytes).write(to: input)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: tool)
        process.arguments = ["-enc", "UTF-8", input.path, output.path]
        // To a file, not a pipe: a pipe read only after exit would block a tool that fills it.
        let errorsFile = directory.appendingPathComponent("stderr.txt")
        _ = FileManager.default.createFile(atPath: errorsFile.path, contents: nil)
        process.standardError = try FileHandle(forWritingTo: errorsFile)
        try process.run()
        process.waitUntilExit()
        let stderr = (try? String(contentsOf: errorsFile, encoding: .utf8)) ?? ""
        #expect(process.terminationStatus == 0, "pdftotext failed: \(stderr)")
        #expect(!stderr.contains("Error"), "pdftotext complained: \(stderr)")
        return try String(contentsOf: output, encoding: .utf8)
    }
}
