import Foundation

/// A small streaming PDF 1.4 writer: objects are written as soon as they are complete and only
/// their byte offsets are kept (for the cross-reference table), so memory stays flat.
///
/// Text uses the standard Helvetica fonts with WinAnsiEncoding (no embedded font): Latin text is
/// drawn and copied as itself. A line holding characters outside WinAnsi draws them as `?` and
/// carries the exact text as an `/ActualText` span, so copy-paste and text extraction
/// (`pdftotext`) give back the original Unicode.
struct PDFWriter {
    static let catalogId = 1
    static let pagesId = 2
    static let regularFontId = 3
    static let boldFontId = 4
    static let infoId = 5

    /// Byte offset of each object, by object number - 1 (0 until written).
    private var offsets: [Int] = Array(repeating: 0, count: 5)
    private var pageIds: [Int] = []
    /// Bytes written so far.
    private var position = 0

    var pageCount: Int { pageIds.count }

    mutating func begin(into output: inout [UInt8]) {
        emit("%PDF-1.4\n%\u{E2}\u{E3}\u{CF}\u{D3}\n".unicodeScalars.map { UInt8($0.value) }, into: &output)
        object(Self.catalogId, "<< /Type /Catalog /Pages 2 0 R >>", into: &output)
        object(Self.regularFontId, "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>", into: &output)
        object(Self.boldFontId, "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica-Bold /Encoding /WinAnsiEncoding >>", into: &output)
    }

    /// Writes one page whose content stream is `content`.
    mutating func addPage(content: [UInt8], width: Double, height: Double, into output: inout [UInt8]) {
        let contentId = reserve()
        emitObjectHeader(contentId, into: &output)
        emit(Array("<< /Length \(content.count) >>\nstream\n".utf8), into: &output)
        emit(content, into: &output)
        emit(Array("\nendstream\nendobj\n".utf8), into: &output)
        let pageId = reserve()
        object(pageId, """
            << /Type /Page /Parent 2 0 R /MediaBox [0 0 \(Self.number(width)) \(Self.number(height))] \
            /Resources << /Font << /F1 3 0 R /F2 4 0 R >> >> /Contents \(contentId) 0 R >>
            """, into: &output)
        pageIds.append(pageId)
    }

    /// Writes the page tree, document information, cross-reference table and trailer.
    mutating func end(title: String, created: Date, into output: inout [UInt8]) {
        emitObjectHeader(Self.pagesId, into: &output)
        emit(Array("<< /Type /Pages /Count \(pageIds.count) /Kids [".utf8), into: &output)
        var kids: [UInt8] = []
        for (index, id) in pageIds.enumerated() {
            kids.append(contentsOf: "\(id) 0 R".utf8)
            kids.append(index % 10 == 9 ? 0x0A : 0x20)
            if kids.count > 4096 {
                emit(kids, into: &output)
                kids.removeAll(keepingCapacity: true)
            }
        }
        emit(kids, into: &output)
        emit(Array("] >>\nendobj\n".utf8), into: &output)
        var info: [UInt8] = Array("<< /Title ".utf8)
        info += Self.textString(title)
        info += Array(" /Producer (AgentHost) /CreationDate (D:\(Self.pdfDate(created))) >>".utf8)
        emitObjectHeader(Self.infoId, into: &output)
        emit(info, into: &output)
        emit(Array("\nendobj\n".utf8), into: &output)

        let xref = position
        var table = "xref\n0 \(offsets.count + 1)\n0000000000 65535 f \n"
        output.reserveCapacity(output.count + offsets.count * 20)
        emit(Array(table.utf8), into: &output)
        table = ""
        for offset in offsets {
            let digits = String(offset)
            table += String(repeating: "0", count: max(0, 10 - digits.count)) + digits + " 00000 n \n"
            if table.utf8.count > 4096 {
                emit(Array(table.utf8), into: &output)
                table = ""
            }
        }
        table += "trailer\n<< /Size \(offsets.count + 1) /Root 1 0 R /Info 5 0 R >>\nstartxref\n\(xref)\n%%EOF\n"
        emit(Array(table.utf8), into: &output)
    }

    private mutating func reserve() -> Int {
        offsets.append(0)
        return offsets.count
    }

    private mutating func object(_ id: Int, _ body: String, into output: inout [UInt8]) {
        emitObjectHeader(id, into: &output)
        emit(Array(body.utf8), into: &output)
        emit(Array("\nendobj\n".utf8), into: &output)
    }

    private mutating func emitObjectHeader(_ id: Int, into output: inout [UInt8]) {
        offsets[id - 1] = position
        emit(Array("\(id) 0 obj\n".utf8), into: &output)
    }

    private mutating func emit(_ bytes: [UInt8], into output: inout [UInt8]) {
        output.append(contentsOf: bytes)
        position += bytes.count
    }

    static func number(_ value: Double) -> String {
        let rounded = (value * 100).rounded() / 100
        return rounded == rounded.rounded() ? String(Int(rounded)) : String(format: "%.2f", rounded)
    }

    static func pdfDate(_ date: Date) -> String {
        let text = Timestamp.string(from: date)  // 2026-11-25T10:40:14.123Z
        let digits = text.prefix(19).filter(\.isNumber)
        return digits + "Z"
    }

    /// A PDF text string: UTF-16BE with a byte order mark, as hex.
    static func textString(_ text: String) -> [UInt8] {
        var result: [UInt8] = Array("<FEFF".utf8)
        let hex = Array("0123456789ABCDEF".utf8)
        for unit in text.utf16 {
            for byte in [UInt8(unit >> 8), UInt8(unit & 0xFF)] {
                result.append(hex[Int(byte >> 4)])
                result.append(hex[Int(byte & 0xF)])
            }
        }
        result.append(UInt8(ascii: ">"))
        return result
    }
}

/// Text in Helvetica's WinAnsiEncoding: measuring, escaping and line breaking.
enum PDFText {
    /// The WinAnsi byte of `character`, or `nil` when the font has no glyph for it.
    static func winAnsi(_ character: Character) -> UInt8? {
        let scalars = character.unicodeScalars
        guard scalars.count == 1, let scalar = scalars.first else {
            // A base letter with combining marks: its precomposed form may be in WinAnsi (e + ◌́ = é).
            let composed = String(character).precomposedStringWithCanonicalMapping.unicodeScalars
            if composed.count == 1, let scalar = composed.first { return winAnsi(scalar) }
            return nil
        }
        return winAnsi(scalar)
    }

    static func winAnsi(_ scalar: Unicode.Scalar) -> UInt8? {
        let value = scalar.value
        if (0x20...0x7E).contains(value) || (0xA0...0xFF).contains(value) { return UInt8(value) }
        return HelveticaMetrics.high[value]
    }

    /// The bytes to draw `text` with and whether any character had no glyph (drawn as `?`).
    static func encode(_ text: Substring) -> (bytes: [UInt8], lossy: Bool) {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(text.utf8.count)
        var lossy = false
        for character in text {
            if character == "\t" {
                bytes.append(contentsOf: [0x20, 0x20, 0x20, 0x20])
            } else if let byte = winAnsi(character) {
                bytes.append(byte)
            } else if character.unicodeScalars.allSatisfy({ $0.properties.generalCategory == .control || $0.properties.generalCategory == .format }) {
                lossy = true  // invisible: drawn as nothing, kept in the actual text
            } else {
                bytes.append(UInt8(ascii: "?"))
                lossy = true
            }
        }
        return (bytes, lossy)
    }

    static func width(_ bytes: some Sequence<UInt8>, size: Double, bold: Bool) -> Double {
        let table = bold ? HelveticaMetrics.bold : HelveticaMetrics.regular
        var units = 0
        for byte in bytes { units += Int(table[Int(byte)]) }
        return Double(units) * size / 1000
    }

    static func width(_ character: Character, size: Double, bold: Bool) -> Double {
        if character == "\t" { return 4 * width([0x20], size: size, bold: bold) }
        if let byte = winAnsi(character) { return width([byte], size: size, bold: bold) }
        return width([UInt8(ascii: "?")], size: size, bold: bold)
    }

    /// Breaks `text` into lines no wider than `maxWidth`: at explicit newlines, then between words,
    /// and inside a word only when the word alone is wider than a line.
    static func wrap(_ text: String, maxWidth: Double, size: Double, bold: Bool = false) -> [Substring] {
        var lines: [Substring] = []
        let normalized = TranscriptExportEncoder.normalizeNewlines(text)
        for paragraph in normalized.split(separator: "\n", omittingEmptySubsequences: false) {
            var lineStart = paragraph.startIndex
            var lineWidth = 0.0
            var lastBreak: (index: Substring.Index, width: Double)?  // after a space
            var index = paragraph.startIndex
            while index < paragraph.endIndex {
                let character = paragraph[index]
                let advance = width(character, size: size, bold: bold)
                if lineWidth + advance > maxWidth, index > lineStart, character != " " {
                    if let lastBreak, lastBreak.index > lineStart {
                        lines.append(trimTrailingSpaces(paragraph[lineStart..<lastBreak.index]))
                        lineStart = lastBreak.index
                        lineWidth -= lastBreak.width
                    } else {
                        lines.append(paragraph[lineStart..<index])
                        lineStart = index
                        lineWidth = 0
                    }
                    lastBreak = nil
                    continue
                }
                lineWidth += advance
                index = paragraph.index(after: index)
                if character == " " { lastBreak = (index, lineWidth) }
            }
            lines.append(trimTrailingSpaces(paragraph[lineStart..<paragraph.endIndex]))
        }
        return lines
    }

    private static func trimTrailingSpaces(_ line: Substring) -> Substring {
        var end = line.endIndex
        while end > line.startIndex, line[line.index(before: end)] == " " { end = line.index(before: end) }
        return line[line.startIndex..<end]
    }

    /// A PDF literal string of WinAnsi bytes.
    static func literal(_ bytes: [UInt8]) -> [UInt8] {
        var result: [UInt8] = [UInt8(ascii: "(")]
        result.reserveCapacity(bytes.count + 8)
        for byte in bytes {
            switch byte {
            case UInt8(ascii: "("), UInt8(ascii: ")"), UInt8(ascii: "\\"):
                result.append(UInt8(ascii: "\\"))
                result.append(byte)
            case 0x20...0x7E:
                result.append(byte)
            default:
                result.append(UInt8(ascii: "\\"))
                result.append(contentsOf: String(byte, radix: 8).leftPadded(to: 3).utf8)
            }
        }
        result.append(UInt8(ascii: ")"))
        return result
    }
}

extension String {
    fileprivate func leftPadded(to length: Int) -> String {
        count >= length ? self : String(repeating: "0", count: length - count) + self
    }
}
