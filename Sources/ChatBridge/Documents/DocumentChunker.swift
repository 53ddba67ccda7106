/// Cuts extracted text into passages by structure: a heading (a Markdown `#` line) always starts a
/// new chunk and names the chunks under it; paragraphs (blank-line separated) are packed together
/// up to `size` characters and never split unless one alone is longer than `size`, in which case
/// it is cut at sentence, then word boundaries. Consecutive chunks under the same heading share
/// about `overlap` characters (whole words) so a fact on a boundary is found from either side.
public struct DocumentChunker: Sendable {
    public struct Piece: Sendable, Equatable {
        public var heading: String?
        public var text: String
    }

    public var size: Int
    public var overlap: Int

    public init(size: Int = 1000, overlap: Int = 150) {
        self.size = max(size, 50)
        self.overlap = min(max(overlap, 0), self.size / 2)
    }

    public func chunk(_ text: String) -> [Piece] {
        var pieces: [Piece] = []
        var heading: String?
        var current = ""
        /// Whether `current` holds anything beyond the overlap carried from the previous chunk.
        var hasNew = false

        func flush(carry: Bool) {
            if hasNew {
                pieces.append(Piece(heading: heading, text: current.trimmingCharacters(in: .whitespacesAndNewlines)))
            }
            current = carry && hasNew ? tail(current) : ""
            hasNew = false
        }
        func add(_ paragraph: String) {
            let separator = current.isEmpty ? "" : "\n\n"
            if !current.isEmpty && current.count + separator.count + paragraph.count > size {
                flush(carry: true)
            }
            if paragraph.count > size {
                for part in split(paragraph) {
                    if !current.isEmpty && current.count + 1 + part.count > size { flush(carry: true) }
                    current += current.isEmpty ? part : " " + part
                    hasNew = true
                }
            } else {
                current += (current.isEmpty ? "" : "\n\n") + paragraph
                hasNew = true
            }
        }

        for block in Self.blocks(text) {
            if let title = Self.headingTitle(block) {
                flush(carry: false)
                heading = title
            } else {
                add(block)
            }
        }
        flush(carry: false)
        return pieces
    }

    /// Paragraphs and heading lines, trimmed, in order. A fenced code block (```` ``` ```` or `~~~`)
    /// is one paragraph, blank lines included, and its `#` lines are code (shell comments, C
    /// preprocessor lines), not headings.
    static func blocks(_ text: String) -> [String] {
        var blocks: [String] = []
        var paragraph: [Substring] = []
        /// The opening fence while inside a fenced code block.
        var fence: (character: Character, count: Int)?
        func end() {
            let joined = paragraph.joined(separator: "\n").trimmingCharacters(in: .whitespacesAndNewlines)
            if !joined.isEmpty { blocks.append(joined) }
            paragraph.removeAll()
        }
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if let open = fence {
                paragraph.append(line)
                // CommonMark: closed by a line of only the same character, at least as many.
                if trimmed.count >= open.count, trimmed.allSatisfy({ $0 == open.character }) { fence = nil }
            } else if let opening = fenceOpening(trimmed) {
                fence = opening
                paragraph.append(line)
            } else if line.allSatisfy(\.isWhitespace) {
                end()
            } else if headingTitle(trimmed) != nil {
                end()
                blocks.append(line.trimmingCharacters(in: .whitespaces))
            } else {
                paragraph.append(line)
            }
        }
        end()
        return blocks
    }

    /// The fence of a line opening a fenced code block: three or more backticks or tildes.
    static func fenceOpening(_ line: String) -> (character: Character, count: Int)? {
        guard let first = line.first, first == "`" || first == "~" else { return nil }
        let count = line.prefix(while: { $0 == first }).count
        return count >= 3 ? (first, count) : nil
    }

    /// The title of a Markdown ATX heading line (`# Title` … `###### Title`), else `nil`.
    static func headingTitle(_ line: String) -> String? {
        guard line.first == "#", !line.contains("\n") else { return nil }
        let hashes = line.prefix(while: { $0 == "#" }).count
        guard hashes <= 6 else { return nil }
        let rest = line.dropFirst(hashes)
        guard rest.first == " " else { return nil }
        let title = rest.trimmingCharacters(in: .whitespaces)
        return title.isEmpty ? nil : title
    }

    /// Pieces of at most `size` characters of a long paragraph: whole sentences, else whole words,
    /// else hard cuts. Linear in the paragraph: lengths are counted once per unit and kept as
    /// numbers, and a word longer than `size` is cut by walking it once (re-counting and copying
    /// the rest after every cut made one 3 MB word take minutes).
    func split(_ paragraph: String) -> [String] {
        var parts: [String] = []
        var current = ""
        var currentCount = 0
        func append(_ unit: Substring, count: Int) {
            if currentCount > 0 && currentCount + 1 + count > size {
                parts.append(current)
                current = ""
                currentCount = 0
            }
            if currentCount > 0 {
                current += " "
                currentCount += 1
            }
            current += unit
            currentCount += count
        }
        for sentence in Self.sentences(paragraph) {
            let sentenceCount = sentence.count
            guard sentenceCount > size else {
                append(Substring(sentence), count: sentenceCount)
                continue
            }
            for word in sentence.split(separator: " ") {
                var rest = word
                var restCount = rest.count
                if restCount > size, currentCount > 0 {
                    parts.append(current)
                    current = ""
                    currentCount = 0
                }
                while restCount > size {
                    let cut = rest.index(rest.startIndex, offsetBy: size)
                    parts.append(String(rest[..<cut]))
                    rest = rest[cut...]
                    restCount -= size
                }
                append(rest, count: restCount)
            }
        }
        if currentCount > 0 { parts.append(current) }
        return parts
    }

    static func sentences(_ text: String) -> [String] {
        var sentences: [String] = []
        var current = ""
        var previous: Character?
        for character in text {
            if character.isWhitespace, let previous, ".!?".contains(previous) {
                sentences.append(current)
                current = ""
            } else if !(character.isWhitespace && current.isEmpty) {
                current.append(character.isNewline ? " " : character)
            }
            previous = character
        }
        if !current.isEmpty { sentences.append(current) }
        return sentences
    }

    /// The last whole words of `text`, at most `overlap` characters.
    func tail(_ text: String) -> String {
        guard overlap > 0 else { return "" }
        let suffix = text.suffix(overlap)
        guard suffix.count < text.count else { return String(suffix) }
        // Start at a word boundary so the overlap never begins mid-word.
        guard let space = suffix.firstIndex(where: \.isWhitespace) else { return "" }
        return suffix[space...].trimmingCharacters(in: .whitespacesAndNewlines)
    }
}
