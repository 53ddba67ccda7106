import Foundation

/// `pdf`: a title page with the filters and date, then each conversation (workspace and thread)
/// as a section of chats, text wrapped to the page, every page numbered. Streams page by page.
struct PDFExportEncoder: ChatExportEncoder {
    static let pageWidth = 595.28  // A4
    static let pageHeight = 841.89
    static let margin = 56.0
    static let bodySize = 10.0
    static let bodyLeading = 13.0
    static let metaSize = 8.5
    static let headingSize = 14.0

    private var writer = PDFWriter()
    private var content: [UInt8] = []
    private var y = 0.0
    private var pageOpen = false
    private var conversation: (String, String?)?
    private var generatedAt = Date()

    private var textWidth: Double { Self.pageWidth - 2 * Self.margin }
    private var bottom: Double { Self.margin + 20 }

    mutating func begin(_ metadata: ExportMetadata, into output: inout [UInt8]) {
        generatedAt = metadata.generatedAt
        writer.begin(into: &output)
        // Title page.
        startPage(into: &output)
        y = Self.pageHeight - 200
        line("AgentHost chat export", size: 26, bold: true, into: &output)
        y -= 18
        line("Exported " + Self.humanDate(metadata.generatedAt), size: 12, bold: false, into: &output)
        y -= 8
        line("Chats: \(metadata.total)", size: 12, bold: false, into: &output)
        y -= 24
        line("Filters", size: 12, bold: true, into: &output)
        if metadata.filters.isEmpty {
            paragraph("None: every chat the exporting account may see.", size: 11, into: &output)
        } else {
            for (name, value) in metadata.filters { paragraph("\(name): \(value)", size: 11, into: &output) }
        }
        finishPage(into: &output)
    }

    mutating func write(_ record: ExportRecord, into output: inout [UInt8]) {
        let chat = record.chat
        let key = (record.entry.workspaceSlug, record.entry.threadSlug)
        if conversation == nil || conversation! != key {
            conversation = key
            // A section starts on a new page unless most of this one is still free.
            if !pageOpen || y < Self.pageHeight * 0.6 {
                if pageOpen { finishPage(into: &output) }
                startPage(into: &output)
            } else {
                y -= 14
            }
            line("Workspace \(key.0) · Thread \(key.1 ?? "(default)")", size: Self.headingSize, bold: true, into: &output)
            rule(into: &output)
            y -= 6
        }
        let who = record.username ?? (chat.userId.map { "user \($0)" } ?? "user")
        ensureSpace(Self.bodyLeading * 3, into: &output)
        line("\(who) · \(Self.humanDate(chat.createdAt)) · chat \(chat.id ?? 0)", size: Self.metaSize, bold: true, gray: true,
             into: &output)
        paragraph(chat.prompt, size: Self.bodySize, into: &output)
        y -= 3
        var assistant = "Assistant" + (chat.model.map { " (\($0))" } ?? "")
        if chat.status != .completed { assistant += " · \(chat.status.rawValue)" }
        if let feedback = chat.feedback { assistant += feedback ? " · rated good" : " · rated bad" }
        ensureSpace(Self.bodyLeading * 2, into: &output)
        line(assistant, size: Self.metaSize, bold: true, gray: true, into: &output)
        paragraph(chat.response.isEmpty ? "(no response)" : chat.response, size: Self.bodySize, into: &output)
        y -= 10
    }

    mutating func end(into output: inout [UInt8]) {
        if pageOpen { finishPage(into: &output) }
        writer.end(title: "AgentHost chat export " + Timestamp.string(from: generatedAt), created: generatedAt, into: &output)
    }

    // MARK: Layout

    private mutating func startPage(into output: inout [UInt8]) {
        content.removeAll(keepingCapacity: true)
        pageOpen = true
        y = Self.pageHeight - Self.margin
    }

    private mutating func finishPage(into output: inout [UInt8]) {
        let number = "Page \(writer.pageCount + 1)"
        let bytes = PDFText.encode(Substring(number)).bytes
        let x = (Self.pageWidth - PDFText.width(bytes, size: 9, bold: false)) / 2
        draw(bytes, actual: nil, x: x, y: Self.margin - 20, size: 9, bold: false, gray: true)
        writer.addPage(content: content, width: Self.pageWidth, height: Self.pageHeight, into: &output)
        pageOpen = false
    }

    private mutating func ensureSpace(_ height: Double, into output: inout [UInt8]) {
        if y - height < bottom {
            finishPage(into: &output)
            startPage(into: &output)
        }
    }

    private mutating func line(_ text: String, size: Double, bold: Bool, gray: Bool = false, into output: inout [UInt8]) {
        for piece in PDFText.wrap(text, maxWidth: textWidth, size: size, bold: bold) {
            ensureSpace(size * 1.3, into: &output)
            y -= size * 1.3
            emit(piece, size: size, bold: bold, gray: gray)
        }
    }

    private mutating func paragraph(_ text: String, size: Double, into output: inout [UInt8]) {
        for piece in PDFText.wrap(text, maxWidth: textWidth, size: size) {
            ensureSpace(Self.bodyLeading, into: &output)
            y -= Self.bodyLeading
            emit(piece, size: size, bold: false, gray: false)
        }
    }

    private mutating func rule(into output: inout [UInt8]) {
        y -= 4
        content.append(contentsOf: "0.6 G 0.5 w \(PDFWriter.number(Self.margin)) \(PDFWriter.number(y)) m \(PDFWriter.number(Self.pageWidth - Self.margin)) \(PDFWriter.number(y)) l S 0 G\n".utf8)
    }

    private mutating func emit(_ piece: Substring, size: Double, bold: Bool, gray: Bool) {
        guard !piece.isEmpty else { return }
        let (bytes, lossy) = PDFText.encode(piece)
        draw(bytes, actual: lossy ? String(piece) : nil, x: Self.margin, y: y, size: size, bold: bold, gray: gray)
    }

    private mutating func draw(_ bytes: [UInt8], actual: String?, x: Double, y: Double, size: Double, bold: Bool, gray: Bool) {
        if let actual {
            content.append(contentsOf: "/Span << /ActualText ".utf8)
            content.append(contentsOf: PDFWriter.textString(actual))
            content.append(contentsOf: " >> BDC\n".utf8)
        }
        content.append(contentsOf: "BT \(gray ? "0.35 g " : "")/\(bold ? "F2" : "F1") \(PDFWriter.number(size)) Tf \(PDFWriter.number(x)) \(PDFWriter.number(y)) Td ".utf8)
        content.append(contentsOf: PDFText.literal(bytes))
        content.append(contentsOf: " Tj ET\(gray ? " 0 g" : "")\n".utf8)
        if actual != nil { content.append(contentsOf: "EMC\n".utf8) }
    }

    /// `2026-11-25 10:40 UTC`.
    static func humanDate(_ date: Date) -> String {
        let text = Timestamp.string(from: date)
        return text.prefix(10) + " " + text.dropFirst(11).prefix(5) + " UTC"
    }
}
