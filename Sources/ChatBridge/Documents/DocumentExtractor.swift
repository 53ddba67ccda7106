import Foundation

/// The kinds of file a workspace accepts.
public enum DocumentType: String, Sendable, CaseIterable {
    case text = "text/plain"
    case markdown = "text/markdown"
    case html = "text/html"
    case csv = "text/csv"
    case json = "application/json"
    case pdf = "application/pdf"

    static let aliases: [String: DocumentType] = [
        "text/x-markdown": .markdown, "application/xhtml+xml": .html, "application/csv": .csv,
        "text/comma-separated-values": .csv, "text/json": .json, "application/x-pdf": .pdf,
    ]
    static let extensions: [String: DocumentType] = [
        "txt": .text, "text": .text, "log": .text, "md": .markdown, "markdown": .markdown, "htm": .html,
        "html": .html, "csv": .csv, "json": .json, "pdf": .pdf,
    ]

    /// The type of a file from its declared MIME type (parameters ignored), else from its extension.
    /// The extension decides whenever the declared type is not one of ours, not only when it is
    /// missing or generic: browsers and operating systems declare `.csv` as
    /// `application/vnd.ms-excel`, `.md` as `application/x-markdown` and the like. `nil` when neither
    /// is supported.
    public static func detect(mime: String?, name: String) -> DocumentType? {
        let declared = mime?.split(separator: ";").first.map { $0.trimmingCharacters(in: .whitespaces).lowercased() } ?? ""
        if let type = DocumentType(rawValue: declared) ?? aliases[declared] { return type }
        let ext = (name as NSString).pathExtension.lowercased()
        return extensions[ext]
    }

    public static var supportedList: String {
        allCases.map(\.rawValue).joined(separator: ", ")
    }
}

/// Turns an uploaded file into plain text with its structure (headings, paragraphs) kept as
/// Markdown-like lines, which the ``DocumentChunker`` then cuts.
///
/// The text is bounded (``ExtractedTextBudget``): at most `maxTextRatio` times the upload and at most
/// `maxTextBytes`, charged as it is produced, `too_large` beyond.
public struct DocumentExtractor: Sendable {
    public var maxBytes: Int
    /// How many times its own size an upload's text may be.
    public var maxTextRatio: Int
    /// The most text any upload may produce, in UTF-8 bytes.
    public var maxTextBytes: Int
    /// Where `pdftotext` is; searched on `PATH` when `nil`.
    public var pdftotextPath: String?

    public init(maxBytes: Int, maxTextRatio: Int = DocumentSettings.defaultMaxTextRatio,
                maxTextBytes: Int = DocumentSettings.defaultMaxTextBytes, pdftotextPath: String? = nil) {
        self.maxBytes = maxBytes
        self.maxTextRatio = maxTextRatio
        self.maxTextBytes = maxTextBytes
        self.pdftotextPath = pdftotextPath
    }

    /// The type and text of a file, or a `validation_failed` / `too_large` ``APIError`` saying what to fix.
    public func extract(name: String, mime: String?, data: [UInt8]) async throws -> (type: DocumentType, text: String) {
        guard !data.isEmpty else { throw APIError.validation("The document '\(name)' is empty.") }
        guard data.count <= maxBytes else {
            throw APIError(.tooLarge, "The document '\(name)' is \(data.count) bytes; the limit is \(maxBytes) bytes.")
        }
        guard let type = DocumentType.detect(mime: mime, name: name) else {
            throw APIError.validation(
                "Unsupported document type '\(mime ?? "unknown")' for '\(name)'; supported: \(DocumentType.supportedList).")
        }
        var budget = ExtractedTextBudget(name: name, uploadBytes: data.count, ratio: maxTextRatio, maxTextBytes: maxTextBytes)
        let text: String
        switch type {
        case .pdf:
            text = try await Self.pdfText(data, name: name, tool: pdftotextPath, budget: &budget)
        default:
            guard let decoded = String(validating: data.starts(with: [0xEF, 0xBB, 0xBF]) ? Array(data.dropFirst(3)) : data,
                                       as: UTF8.self) else {
                throw APIError.validation("The document '\(name)' is not valid UTF-8 text.")
            }
            switch type {
            case .html: text = HTMLText.extract(decoded)
            case .csv: text = try Self.csvText(decoded, name: name, budget: &budget)
            case .json: text = try Self.jsonText(decoded, name: name, budget: &budget)
            default: text = decoded
            }
            // Plain text, Markdown and HTML never grow, but the limit is the same for every type.
            if type != .csv && type != .json { try budget.charge(text) }
        }
        let normalized = text.replacingOccurrences(of: "\r\n", with: "\n").replacingOccurrences(of: "\r", with: "\n")
        guard !normalized.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
            throw APIError.validation("The document '\(name)' contains no text.")
        }
        return (type, normalized)
    }

    // MARK: CSV

    /// Each record becomes a paragraph `header: value` per field, so a passage names what its values are.
    /// Every field is charged to `budget` before it is written, headers included.
    static func csvText(_ text: String, name: String, budget: inout ExtractedTextBudget) throws -> String {
        let rows = parseCSV(text).filter { !$0.allSatisfy { $0.trimmingCharacters(in: .whitespaces).isEmpty } }
        guard let header = rows.first else { throw APIError.validation("The CSV document '\(name)' has no rows.") }
        guard rows.count > 1 else {
            let line = header.joined(separator: ", ")
            try budget.charge(line)
            return line
        }
        let headerBytes = header.map(\.utf8.count)
        var output = ""
        for (rowIndex, row) in rows.dropFirst().enumerated() {
            if rowIndex > 0 {
                try budget.charge(2)
                output += "\n\n"
            }
            for (index, value) in row.enumerated() {
                let named = index < header.count && !header[index].isEmpty
                let column = named ? header[index] : "column \(index + 1)"
                try budget.charge((named ? headerBytes[index] : column.utf8.count) + 2 + value.utf8.count + (index > 0 ? 1 : 0))
                if index > 0 { output += "\n" }
                output += column
                output += ": "
                output += value
            }
        }
        return output
    }

    /// RFC 4180 fields: quoted fields may hold commas, newlines and doubled quotes.
    static func parseCSV(_ text: String) -> [[String]] {
        var rows: [[String]] = []
        var row: [String] = []
        var field = ""
        var quoted = false
        var iterator = Array(text.unicodeScalars).makeIterator()
        var pending: Unicode.Scalar? = nil
        func next() -> Unicode.Scalar? {
            if let scalar = pending { pending = nil; return scalar }
            return iterator.next()
        }
        while let scalar = next() {
            if quoted {
                if scalar == "\"" {
                    if let following = next() {
                        if following == "\"" { field.unicodeScalars.append("\"") } else { quoted = false; pending = following }
                    } else {
                        quoted = false
                    }
                } else {
                    field.unicodeScalars.append(scalar)
                }
                continue
            }
            switch scalar {
            case "\"" where field.isEmpty: quoted = true
            case ",": row.append(field); field = ""
            case "\n", "\r":
                if scalar == "\r", let following = next(), following != "\n" { pending = following }
                row.append(field); field = ""
                rows.append(row); row = []
            default: field.unicodeScalars.append(scalar)
            }
        }
        if !field.isEmpty || !row.isEmpty { row.append(field); rows.append(row) }
        return rows
    }

    // MARK: JSON

    /// One line `path: value` per scalar, so keys sit next to their values in every passage.
    /// The path is kept as a stack of components with its length, and a line is charged to `budget`
    /// before it is built: a long key above many values costs its length once per line *written*,
    /// and the walk stops at the limit.
    static func jsonText(_ text: String, name: String, budget: inout ExtractedTextBudget) throws -> String {
        guard let value = try? JSONValue(parsing: text) else {
            throw APIError.validation("The JSON document '\(name)' is not valid JSON.")
        }
        var output = ""
        var lineCount = 0
        var path: [String] = []
        var pathBytes = 0
        func line(_ rendered: String) throws {
            let prefixBytes = pathBytes == 0 ? 5 : pathBytes  // "value" for a bare scalar
            try budget.charge((lineCount > 0 ? 1 : 0) + prefixBytes + 2 + rendered.utf8.count)
            if lineCount > 0 { output += "\n" }
            if path.isEmpty { output += "value" } else { for component in path { output += component } }
            output += ": "
            output += rendered
            lineCount += 1
        }
        func walk(_ value: JSONValue, _ component: String?) throws {
            if let component {
                path.append(component)
                pathBytes += component.utf8.count
            }
            defer {
                if let component {
                    path.removeLast()
                    pathBytes -= component.utf8.count
                }
            }
            switch value {
            case .object(let fields):
                for key in fields.keys.sorted() { try walk(fields[key]!, path.isEmpty ? key : ".\(key)") }
            case .array(let items):
                for (index, item) in items.enumerated() { try walk(item, "[\(index)]") }
                // Arrays of records read better as paragraphs.
                if items.contains(where: { $0.objectValue != nil }) {
                    // An empty line, as if joined with the others.
                    if lineCount > 0 {
                        try budget.charge(1)
                        output += "\n"
                    }
                    lineCount += 1
                }
            case .string(let string): try line(string)
            default: try line(value.serializedString)
            }
        }
        try walk(value, nil)
        return output
    }

    // MARK: PDF

    /// Text of a PDF through poppler's `pdftotext`. Compressed streams can hold far more text than
    /// the file's size, so the output's size is checked against `budget` before it is read.
    public static func pdfText(_ data: [UInt8], name: String, tool: String?, budget: inout ExtractedTextBudget) async throws -> String {
        guard data.starts(with: Array("%PDF-".utf8)) else {
            throw APIError.validation("The document '\(name)' is not a PDF file (it does not start with %PDF-).")
        }
        guard let executable = tool ?? findExecutable("pdftotext"), FileManager.default.isExecutableFile(atPath: executable) else {
            throw APIError.validation(
                "Reading PDF documents needs poppler's 'pdftotext', which is not installed on this server "
                    + "(install the poppler-utils package, e.g. apt-get install poppler-utils or brew install poppler).")
        }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("agenthost-pdf-\(UUID.random().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let input = directory.appendingPathComponent("in.pdf")
        let output = directory.appendingPathComponent("out.txt")
        try Data(data).write(to: input)
        let status = try await run(executable, arguments: ["-q", "-enc", "UTF-8", input.path, output.path], timeout: .seconds(60))
        if status == 0, let size = (try? FileManager.default.attributesOfItem(atPath: output.path))?[.size] as? Int {
            try budget.charge(size)
        }
        guard status == 0, let bytes = try? Data(contentsOf: output) else {
            throw APIError.validation("The PDF document '\(name)' could not be read (pdftotext exited with status \(status)); it may be damaged.")
        }
        let text = String(decoding: bytes, as: UTF8.self).replacingOccurrences(of: "\u{0C}", with: "\n\n")
        guard !text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
            throw APIError.validation("The PDF document '\(name)' has no extractable text (a scanned image needs OCR first).")
        }
        return text
    }

    static func findExecutable(_ name: String) -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        for directory in path.split(separator: ":") + ["/opt/homebrew/bin", "/usr/local/bin", "/usr/bin"] {
            let candidate = "\(directory)/\(name)"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return nil
    }

    /// Runs a process to completion without blocking a concurrency thread; kills it after `timeout`.
    static func run(_ executable: String, arguments: [String], timeout: Duration) async throws -> Int32 {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        return try await withThrowingTaskGroup(of: Int32?.self) { group in
            let exited = AsyncStream<Int32> { continuation in
                process.terminationHandler = { process in
                    continuation.yield(process.terminationStatus)
                    continuation.finish()
                }
            }
            try process.run()
            group.addTask {
                for await status in exited { return status }
                return -1
            }
            group.addTask {
                try? await Task.sleep(for: timeout)
                return nil
            }
            defer { group.cancelAll() }
            while let result = try await group.next() {
                if let result { return result }
                if process.isRunning { process.terminate() }
            }
            return -1
        }
    }
}

/// Readable text of an HTML page: script, style and head dropped, headings as `#` lines, blocks as
/// paragraphs, entities decoded.
enum HTMLText {
    static let blockTags: Set<String> = [
        "p", "div", "br", "li", "ul", "ol", "tr", "table", "section", "article", "header", "footer", "blockquote",
        "pre", "hr", "dl", "dt", "dd", "nav", "main", "aside", "figure", "figcaption", "form", "title", "body", "html",
    ]
    static let droppedTags: Set<String> = ["script", "style", "noscript", "template", "svg", "head"]

    static func extract(_ html: String) -> String {
        var output = ""
        var index = html.startIndex
        var skipUntil: String?
        var headingLevel = 0
        while index < html.endIndex {
            let character = html[index]
            if character == "<" {
                if html[index...].hasPrefix("<!--") {
                    index = html.range(of: "-->", range: index..<html.endIndex)?.upperBound ?? html.endIndex
                    continue
                }
                guard let close = html[index...].firstIndex(of: ">") else { break }
                let inner = html[html.index(after: index)..<close]
                index = html.index(after: close)
                let closing = inner.hasPrefix("/")
                let name = inner.drop(while: { $0 == "/" })
                    .prefix(while: { $0.isLetter || $0.isNumber }).lowercased()
                if let skipping = skipUntil {
                    if closing && name == skipping { skipUntil = nil }
                    continue
                }
                if droppedTags.contains(name) && !closing && !inner.hasSuffix("/") {
                    // `head` keeps its title: only its other children are noise.
                    if name != "head" { skipUntil = name }
                    continue
                }
                if name.count == 2, name.first == "h", let level = Int(name.dropFirst()), (1...6).contains(level) {
                    if closing {
                        headingLevel = 0
                        output += "\n\n"
                    } else {
                        headingLevel = level
                        output += "\n\n" + String(repeating: "#", count: level) + " "
                    }
                } else if blockTags.contains(name) {
                    output += name == "br" || name == "li" || name == "tr" || name == "dt" ? "\n" : "\n\n"
                } else if name == "td" || name == "th" {
                    output += " "
                }
                continue
            }
            if skipUntil != nil { index = html.index(after: index); continue }
            if character == "&" {
                let (decoded, next) = decodeEntity(html, at: index)
                output += decoded
                index = next
                continue
            }
            output.append(headingLevel > 0 && character.isNewline ? " " : character)
            index = html.index(after: index)
        }
        return normalize(output)
    }

    /// Collapses runs of spaces within lines and of blank lines between paragraphs.
    static func normalize(_ text: String) -> String {
        var paragraphs: [String] = []
        for block in text.components(separatedBy: "\n\n") {
            let lines = block.split(separator: "\n", omittingEmptySubsequences: true).map {
                $0.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\u{A0}" }).joined(separator: " ")
            }.filter { !$0.isEmpty }
            if !lines.isEmpty { paragraphs.append(lines.joined(separator: "\n")) }
        }
        return paragraphs.joined(separator: "\n\n")
    }

    static let namedEntities: [String: String] = [
        "amp": "&", "lt": "<", "gt": ">", "quot": "\"", "apos": "'", "nbsp": " ", "copy": "©", "reg": "®",
        "trade": "™", "hellip": "…", "mdash": "—", "ndash": "–", "lsquo": "‘", "rsquo": "’", "ldquo": "“",
        "rdquo": "”", "euro": "€", "pound": "£", "yen": "¥", "cent": "¢", "sect": "§", "deg": "°", "middot": "·",
        "bull": "•", "times": "×", "divide": "÷", "laquo": "«", "raquo": "»", "eacute": "é", "egrave": "è",
        "agrave": "à", "ccedil": "ç", "uuml": "ü", "ouml": "ö", "auml": "ä", "szlig": "ß",
    ]

    static func decodeEntity(_ html: String, at start: String.Index) -> (String, String.Index) {
        let afterAmp = html.index(after: start)
        guard let semicolon = html[afterAmp...].prefix(12).firstIndex(of: ";") else { return ("&", afterAmp) }
        let body = html[afterAmp..<semicolon]
        let next = html.index(after: semicolon)
        if body.hasPrefix("#") {
            let digits = body.dropFirst()
            let value = digits.hasPrefix("x") || digits.hasPrefix("X") ? UInt32(digits.dropFirst(), radix: 16) : UInt32(digits)
            if let value, let scalar = Unicode.Scalar(value) { return (String(Character(scalar)), next) }
        } else if let named = namedEntities[String(body)] {
            return (named, next)
        }
        return ("&", afterAmp)
    }
}
