import Foundation

/// `json` (an array of Chat objects) and `jsonl` (one Chat object per line).
struct JSONExportEncoder: ChatExportEncoder {
    let lines: Bool
    private var count = 0

    init(lines: Bool) { self.lines = lines }

    mutating func begin(_ metadata: ExportMetadata, into output: inout [UInt8]) {
        if !lines { output.append(UInt8(ascii: "[")) }
    }

    mutating func write(_ record: ExportRecord, into output: inout [UInt8]) {
        if !lines { output.append(contentsOf: count == 0 ? [0x0A] : [UInt8(ascii: ","), 0x0A]) }
        ExportJSON.writeChat(record, into: &output)
        if lines { output.append(0x0A) }
        count += 1
    }

    mutating func end(into output: inout [UInt8]) {
        if !lines { output.append(contentsOf: count == 0 ? [UInt8(ascii: "]"), 0x0A] : [0x0A, UInt8(ascii: "]"), 0x0A]) }
    }
}

/// The full Chat object of an export, keys in a fixed order.
enum ExportJSON {
    static func writeChat(_ record: ExportRecord, into out: inout [UInt8]) {
        let chat = record.chat
        var first = true
        func key(_ name: String) {
            out.append(contentsOf: first ? [UInt8(ascii: "{")] : [UInt8(ascii: ",")])
            first = false
            out.append(UInt8(ascii: "\""))
            out.append(contentsOf: name.utf8)
            out.append(contentsOf: [UInt8(ascii: "\""), UInt8(ascii: ":")])
        }
        func string(_ value: String?) {
            if let value { JSONValue.writeString(value, to: &out) } else { out.append(contentsOf: "null".utf8) }
        }
        func integer(_ value: Int64?) {
            out.append(contentsOf: (value.map(String.init) ?? "null").utf8)
        }
        func bool(_ value: Bool?) {
            out.append(contentsOf: (value.map { $0 ? "true" : "false" } ?? "null").utf8)
        }
        key("db_id"); integer(chat.id)
        key("chat_id"); string(chat.chatUuid)
        key("workspace"); string(record.entry.workspaceSlug)
        key("thread"); string(record.entry.threadSlug)
        key("user_id"); integer(chat.userId)
        key("username"); string(record.username)
        key("prompt"); string(chat.prompt)
        key("response"); string(chat.response)
        key("sources"); writeSources(chat.sources, into: &out)
        key("attachments"); writeAttachments(chat.attachments, into: &out)
        key("feedback"); bool(chat.feedback)
        key("include"); bool(chat.include)
        key("api_session_id"); string(chat.apiSessionId)
        key("mode"); string(chat.mode.rawValue)
        key("model"); string(chat.model)
        key("status"); string(chat.status.rawValue)
        key("usage")
        if chat.promptTokens != nil || chat.completionTokens != nil {
            out.append(contentsOf: "{\"prompt_tokens\":\(chat.promptTokens ?? 0),\"completion_tokens\":\(chat.completionTokens ?? 0)}".utf8)
        } else {
            out.append(contentsOf: "null".utf8)
        }
        key("created_at"); string(Timestamp.string(from: chat.createdAt))
        key("updated_at"); string(Timestamp.string(from: chat.updatedAt))
        out.append(UInt8(ascii: "}"))
    }

    static func writeSources(_ sources: [ChatSource], into out: inout [UInt8]) {
        out.append(UInt8(ascii: "["))
        for (index, source) in sources.enumerated() {
            if index > 0 { out.append(UInt8(ascii: ",")) }
            out.append(contentsOf: "{\"title\":".utf8)
            JSONValue.writeString(source.title, to: &out)
            out.append(contentsOf: ",\"chunk\":".utf8)
            JSONValue.writeString(source.chunk, to: &out)
            out.append(contentsOf: ",\"score\":".utf8)
            JSONValue.writeNumber(source.score, to: &out)
            out.append(contentsOf: ",\"document_id\":\(source.documentId.map(String.init) ?? "null")}".utf8)
        }
        out.append(UInt8(ascii: "]"))
    }

    static func writeAttachments(_ attachments: [AttachmentInfo], into out: inout [UInt8]) {
        out.append(UInt8(ascii: "["))
        for (index, attachment) in attachments.enumerated() {
            if index > 0 { out.append(UInt8(ascii: ",")) }
            out.append(contentsOf: "{\"name\":".utf8)
            JSONValue.writeString(attachment.name, to: &out)
            out.append(contentsOf: ",\"mime\":".utf8)
            JSONValue.writeString(attachment.mime, to: &out)
            out.append(contentsOf: ",\"size\":\(attachment.size)}".utf8)
        }
        out.append(UInt8(ascii: "]"))
    }
}

/// `alpaca`: a JSON array of `{instruction, input, output}` for fine-tuning. Only completed chats
/// with a response are training examples; cut or failed answers are left out.
struct AlpacaExportEncoder: ChatExportEncoder {
    private var count = 0

    mutating func begin(_ metadata: ExportMetadata, into output: inout [UInt8]) {
        output.append(UInt8(ascii: "["))
    }

    mutating func write(_ record: ExportRecord, into output: inout [UInt8]) {
        let chat = record.chat
        guard chat.status == .completed, !chat.response.isEmpty else { return }
        output.append(contentsOf: count == 0 ? [0x0A] : [UInt8(ascii: ","), 0x0A])
        output.append(contentsOf: "{\"instruction\":".utf8)
        JSONValue.writeString(chat.prompt, to: &output)
        output.append(contentsOf: ",\"input\":\"\",\"output\":".utf8)
        JSONValue.writeString(chat.response, to: &output)
        output.append(UInt8(ascii: "}"))
        count += 1
    }

    mutating func end(into output: inout [UInt8]) {
        output.append(contentsOf: count == 0 ? [UInt8(ascii: "]"), 0x0A] : [0x0A, UInt8(ascii: "]"), 0x0A])
    }
}

/// `csv`: RFC 4180 with a header row and CRLF line ends. Cells that a spreadsheet would run as a
/// formula (starting with `=`, `+`, `-`, `@`, tab or CR) get a leading `'`.
struct CSVExportEncoder: ChatExportEncoder {
    static let header = ["db_id", "chat_id", "workspace", "thread", "user_id", "username", "created_at", "updated_at", "status",
                         "mode", "model", "feedback", "include", "api_session_id", "prompt_tokens", "completion_tokens",
                         "prompt", "response", "sources", "attachments"]

    mutating func begin(_ metadata: ExportMetadata, into output: inout [UInt8]) {
        Self.writeRow(Self.header, into: &output)
    }

    mutating func write(_ record: ExportRecord, into output: inout [UInt8]) {
        // Cells go straight into the output (no array of cell strings per row); the JSON cells are
        // built in a reused buffer.
        let chat = record.chat
        func cell(_ text: String) {
            output.append(UInt8(ascii: ","))
            Self.writeCell(text, into: &output)
        }
        // Numbers and timestamps are spelt into the scratch buffer, not into a String each.
        func scratchCell(first: Bool = false, _ spell: (inout [UInt8]) -> Void) {
            if !first { output.append(UInt8(ascii: ",")) }
            json.removeAll(keepingCapacity: true)
            spell(&json)
            json.withUnsafeBufferPointer { Self.writeCell(bytes: $0, into: &output) }
        }
        func integerCell(first: Bool = false, _ value: Int64?) {
            scratchCell(first: first) { if let value { Self.appendDecimal(value, to: &$0) } }
        }
        integerCell(first: true, chat.id)
        cell(chat.chatUuid)
        cell(record.entry.workspaceSlug)
        cell(record.entry.threadSlug ?? "")
        integerCell(chat.userId)
        cell(record.username ?? "")
        scratchCell { Timestamp.append(chat.createdAt, to: &$0) }
        scratchCell { Timestamp.append(chat.updatedAt, to: &$0) }
        cell(chat.status.rawValue)
        cell(chat.mode.rawValue)
        cell(chat.model ?? "")
        cell(chat.feedback.map { $0 ? "true" : "false" } ?? "")
        cell(chat.include ? "true" : "false")
        cell(chat.apiSessionId ?? "")
        integerCell(chat.promptTokens.map(Int64.init))
        integerCell(chat.completionTokens.map(Int64.init))
        cell(chat.prompt)
        cell(chat.response)
        json.removeAll(keepingCapacity: true)
        ExportJSON.writeSources(chat.sources, into: &json)
        output.append(UInt8(ascii: ","))
        json.withUnsafeBufferPointer { Self.writeCell(bytes: $0, into: &output) }
        json.removeAll(keepingCapacity: true)
        ExportJSON.writeAttachments(chat.attachments, into: &json)
        output.append(UInt8(ascii: ","))
        json.withUnsafeBufferPointer { Self.writeCell(bytes: $0, into: &output) }
        output.append(contentsOf: [0x0D, 0x0A])
    }

    private var json: [UInt8] = []

    mutating func end(into output: inout [UInt8]) {}

    /// `String(value)`'s bytes.
    static func appendDecimal(_ value: Int64, to output: inout [UInt8]) {
        if value < 0 { output.append(UInt8(ascii: "-")) }
        var magnitude = value.magnitude
        var digits: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8,
                     UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) =
            (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        withUnsafeMutableBytes(of: &digits) { buffer in
            var start = buffer.count
            repeat {
                start -= 1
                buffer[start] = UInt8(ascii: "0") + UInt8(magnitude % 10)
                magnitude /= 10
            } while magnitude > 0
            output.append(contentsOf: buffer[start...])
        }
    }

    static func writeRow(_ cells: [String], into output: inout [UInt8]) {
        for (index, cell) in cells.enumerated() {
            if index > 0 { output.append(UInt8(ascii: ",")) }
            writeCell(cell, into: &output)
        }
        output.append(contentsOf: [0x0D, 0x0A])
    }

    /// Whether a cell starting with `byte` would be evaluated by a spreadsheet: `=`, `+`, `-`, `@`, tab, CR.
    static func isFormulaStart(_ byte: UInt8) -> Bool {
        switch byte {
        case 0x3D, 0x2B, 0x2D, 0x40, 0x09, 0x0D: true
        default: false
        }
    }

    static func writeCell(_ cell: String, into output: inout [UInt8]) {
        var cell = cell
        cell.withUTF8 { writeCell(bytes: $0, into: &output) }
    }

    /// One cell: quoted when it holds a comma, quote, CR or LF (quotes doubled), `'`-prefixed when it
    /// starts like a formula. Bytes between quotes are copied in runs, not one by one.
    static func writeCell(bytes: UnsafeBufferPointer<UInt8>, into output: inout [UInt8]) {
        // The scans are libc's memchr (vectorised), one per byte that matters, stopping at the first that
        // decides: a byte-by-byte loop over every cell was the largest part of a CSV export's profile.
        func find(_ byte: UInt8, from start: Int) -> Int? {
            guard start < bytes.count, let base = bytes.baseAddress,
                  let found = memchr(base + start, Int32(byte), bytes.count - start)
            else { return nil }
            return base.distance(to: found.assumingMemoryBound(to: UInt8.self))
        }
        let firstQuote = find(0x22, from: 0)
        let needsQuotes = firstQuote != nil || find(0x2C, from: 0) != nil || find(0x0A, from: 0) != nil || find(0x0D, from: 0) != nil
        if needsQuotes { output.append(UInt8(ascii: "\"")) }
        if let first = bytes.first, isFormulaStart(first) { output.append(UInt8(ascii: "'")) }
        if var quote = firstQuote {
            var start = 0
            while true {
                // Up to and including the quote, then the quote again.
                output.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[start...quote]))
                output.append(0x22)
                start = quote + 1
                guard let next = find(0x22, from: start) else { break }
                quote = next
            }
            output.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[start...]))
        } else {
            output.append(contentsOf: bytes)
        }
        if needsQuotes { output.append(UInt8(ascii: "\"")) }
    }
}

/// `txt` (a readable transcript) and `md` (the same as Markdown), grouped by workspace and thread.
struct TranscriptExportEncoder: ChatExportEncoder {
    let markdown: Bool
    private var conversation: (String, String?)?

    init(markdown: Bool) { self.markdown = markdown }

    mutating func begin(_ metadata: ExportMetadata, into output: inout [UInt8]) {
        let exported = Timestamp.string(from: metadata.generatedAt)
        if markdown {
            output.append(contentsOf: """
                # AgentHost chat export

                - Exported: \(exported)
                - Filters: \(metadata.filterSummary)
                - Chats: \(metadata.total)

                """.utf8)
        } else {
            output.append(contentsOf: """
                AgentHost chat export
                Exported: \(exported)
                Filters:  \(metadata.filterSummary)
                Chats:    \(metadata.total)

                """.utf8)
        }
    }

    mutating func write(_ record: ExportRecord, into output: inout [UInt8]) {
        let chat = record.chat
        let key = (record.entry.workspaceSlug, record.entry.threadSlug)
        if conversation == nil || conversation! != key {
            conversation = key
            let title = "Workspace \(key.0) · Thread \(key.1 ?? "(default)")"
            if markdown {
                output.append(contentsOf: "\n## \(title)\n".utf8)
            } else {
                let rule = String(repeating: "=", count: min(78, max(20, title.count)))
                output.append(contentsOf: "\n\(rule)\n\(title)\n\(rule)\n".utf8)
            }
        }
        let who = record.username ?? (chat.userId.map { "user \($0)" } ?? "user")
        var assistant = "assistant" + (chat.model.map { " (\($0))" } ?? "")
        if chat.status != .completed { assistant += " [\(chat.status.rawValue)]" }
        var notes: [String] = []
        if let feedback = chat.feedback { notes.append("feedback: \(feedback ? "positive" : "negative")") }
        if !chat.include { notes.append("excluded from context") }
        if !chat.attachments.isEmpty { notes.append("attachments: " + chat.attachments.map(\.name).joined(separator: ", ")) }
        if !chat.sources.isEmpty { notes.append("sources: " + chat.sources.map(\.title).joined(separator: ", ")) }
        // The texts go into the output in byte runs, not through Strings built per line: splitting into
        // Characters and joining them again was most of a transcript export. Texts with a CR, and
        // (Markdown) texts that may hold a fence, take the Character-based functions, whose exact
        // spelling of those cases the byte runs do not repeat.
        if markdown {
            output.append(contentsOf: "\n### ".utf8)
            Self.appendMarkdownInline(who, to: &output)
            output.append(contentsOf: " · ".utf8)
            Timestamp.append(chat.createdAt, to: &output)
            output.append(contentsOf: " · chat ".utf8)
            CSVExportEncoder.appendDecimal(chat.id ?? 0, to: &output)
            output.append(contentsOf: "\n\n".utf8)
            Self.appendLines(of: chat.prompt, to: &output, prefix: "> ", emptyLine: ">", terminated: false)
            output.append(contentsOf: "\n\n**".utf8)
            Self.appendMarkdownInline(assistant, to: &output)
            output.append(contentsOf: "** · ".utf8)
            Timestamp.append(chat.updatedAt, to: &output)
            output.append(contentsOf: "\n\n".utf8)
            output.append(contentsOf: (chat.response.isEmpty ? "_(no response)_" : Self.normalizeNewlines(chat.response)).utf8)
            output.append(0x0A)
            // A response cut inside a code block would turn every later heading into code: close it.
            if Self.mayHoldFence(chat.response), let fence = Self.unclosedFence(in: chat.response) {
                output.append(contentsOf: "\(fence)\n".utf8)
            }
            if !notes.isEmpty {
                output.append(contentsOf: "\n_".utf8)
                Self.appendMarkdownInline(notes.joined(separator: "; "), to: &output)
                output.append(contentsOf: "_\n".utf8)
            }
        } else {
            output.append(contentsOf: "\n[".utf8)
            Timestamp.append(chat.createdAt, to: &output)
            output.append(contentsOf: "] \(who) (chat \(chat.id ?? 0)):\n".utf8)
            Self.appendLines(of: chat.prompt, to: &output, prefix: "    ", emptyLine: "    ", terminated: true)
            output.append(contentsOf: "\n[".utf8)
            Timestamp.append(chat.updatedAt, to: &output)
            output.append(contentsOf: "] \(assistant):\n".utf8)
            Self.appendLines(of: chat.response.isEmpty ? "(no response)" : chat.response, to: &output, prefix: "    ", emptyLine: "    ",
                             terminated: true)
            if !notes.isEmpty { output.append(contentsOf: "    -- \(notes.joined(separator: "; "))\n".utf8) }
        }
    }

    /// ``blockquote(_:)`` (`terminated: false`, prefixes `> ` and `>`) or ``indent(_:)`` (`terminated: true`,
    /// `    ` for every line) of `text`, appended. Without a CR, the lines are the runs between LF bytes (an LF
    /// is a Character of its own, so splitting at Character "\n" splits there); with one, the String functions
    /// normalise the line ends as they always did.
    static func appendLines(of text: String, to output: inout [UInt8], prefix: StaticString, emptyLine: StaticString,
                            terminated: Bool) {
        guard !text.utf8.contains(0x0D) else {
            output.append(contentsOf: (terminated ? indent(text) : blockquote(text)).utf8)
            return
        }
        var text = text
        text.withUTF8 { bytes in
            var start = 0
            while true {
                var end = start
                if start < bytes.count, let base = bytes.baseAddress,
                   let found = memchr(base + start, 0x0A, bytes.count - start) {
                    end = base.distance(to: found.assumingMemoryBound(to: UInt8.self))
                } else {
                    end = bytes.count
                }
                if end == start {
                    output.append(contentsOf: UnsafeBufferPointer(start: emptyLine.utf8Start, count: emptyLine.utf8CodeUnitCount))
                } else {
                    output.append(contentsOf: UnsafeBufferPointer(start: prefix.utf8Start, count: prefix.utf8CodeUnitCount))
                    output.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[start..<end]))
                }
                guard end < bytes.count else { break }
                output.append(0x0A)
                start = end + 1
            }
        }
        if terminated { output.append(0x0A) }
    }

    /// Whether `text` could open a fence: ``unclosedFence(in:)`` needs a line starting with three backticks
    /// or tildes, so text without those bytes has none (most responses; the Character walk is skipped).
    /// String comparison is by canonical equivalence, and U+1FEF (Greek varia) is canonically a backtick:
    /// text holding one takes the Character walk too.
    static func mayHoldFence(_ text: String) -> Bool {
        var previous: UInt8 = 0, run = 0
        for byte in text.utf8 {
            run = byte == previous ? run + 1 : 1
            previous = byte
            if run == 3, byte == UInt8(ascii: "`") || byte == UInt8(ascii: "~") { return true }
        }
        return text.utf8.contains(0xE1) && text.unicodeScalars.contains("\u{1FEF}")
    }

    /// ``markdownInline(_:)`` of `text`, appended; text without any byte it escapes or replaces is itself
    /// (each of those is one ASCII scalar, so a Character equal to one holds that byte).
    static func appendMarkdownInline(_ text: String, to output: inout [UInt8]) {
        let special = text.utf8.contains { byte in
            switch byte {
            case UInt8(ascii: "\\"), UInt8(ascii: "`"), UInt8(ascii: "*"), UInt8(ascii: "_"), UInt8(ascii: "["), UInt8(ascii: "]"),
                 UInt8(ascii: "<"), UInt8(ascii: ">"), UInt8(ascii: "#"), UInt8(ascii: "|"), 0x0A: true
            default: false
            }
        }
        output.append(contentsOf: (special ? markdownInline(text) : text).utf8)
    }

    mutating func end(into output: inout [UInt8]) {}

    /// The fence (```` ``` ```` or `~~~`) of a fenced code block that `text` opens and does not close.
    static func unclosedFence(in text: String) -> String? {
        var open: String?
        for line in lines(text) {
            let trimmed = line.drop { $0 == " " }
            guard line.count - trimmed.count < 4 else { continue }
            for marker in ["```", "~~~"] where trimmed.hasPrefix(marker) {
                let run = String(trimmed.prefix { $0 == marker.first })
                if let current = open {
                    // Only a fence of the same kind, at least as long and with nothing after it, closes.
                    if run.first == current.first, run.count >= current.count,
                       trimmed.dropFirst(run.count).allSatisfy(\.isWhitespace) { open = nil }
                } else {
                    open = run
                }
            }
        }
        return open
    }

    /// Every line indented by four spaces, so a transcript's own lines never look like headers.
    static func indent(_ text: String) -> String {
        lines(text).map { "    " + $0 }.joined(separator: "\n") + "\n"
    }

    static func blockquote(_ text: String) -> String {
        lines(text).map { $0.isEmpty ? ">" : "> " + $0 }.joined(separator: "\n")
    }

    /// The lines of `text` whatever its line ends (`\r\n` is one Character, so split after normalising).
    static func lines(_ text: String) -> [Substring] {
        normalizeNewlines(text).split(separator: "\n", omittingEmptySubsequences: false)
    }

    static func normalizeNewlines(_ text: String) -> String {
        guard text.utf8.contains(0x0D) else { return text }
        return text.replacingOccurrences(of: "\r\n", with: "\n").replacingOccurrences(of: "\r", with: "\n")
    }

    static func markdownInline(_ text: String) -> String {
        var result = ""
        for character in text {
            if "\\`*_[]<>#|".contains(character) { result.append("\\") }
            result.append(character == "\n" ? " " : character)
        }
        return result
    }
}
