import GRDB
import GRDBSQLite

/// The excerpts of a search hit, made from the chat's text with the search index's own tokenizer.
///
/// FTS5's `snippet()` needs the MATCH cursor on each row it excerpts: for a page of hits that meant
/// FTS5 finding each of them again (`rowid IN (…)`, a seek per id in every term's list of every index
/// segment, 0.1–0.2 ms each over a million chats), or walking every match between the page's oldest
/// and newest ids. Tokenizing the page's own text finds the same matches for a fraction of that, and
/// the search has the text already: it reads the page's rows.
///
/// The excerpt is FTS5's: a window of ``windowTokens`` tokens placed where it holds the most different
/// phrases (then the most matches), from the start of their sentence or centred on them; `…` where
/// text is cut; every match in it marked.
struct SnippetMaker {
    /// Tokens in an excerpt (what search asked of `snippet()`).
    static let windowTokens = 24

    /// One phrase of the query: its tokens as the index holds them; the last matches as a prefix in a
    /// prefix search.
    private struct Phrase {
        var tokens: [[UInt8]]
        var isPrefix: Bool
    }

    private let phrases: [Phrase]
    private let tokenizer: any FTS5Tokenizer

    /// A maker for the phrases of `terms` (``SearchQueryParser/terms(_:)``), tokenized as FTS5 tokenizes
    /// a query (a prefix phrase with `FTS5_TOKENIZE_PREFIX`).
    init(_ db: Database, terms: [SearchQueryParser.Term]) throws {
        let tokenizer = try db.makeTokenizer(AppDatabase.chatSearchTokenizer)
        self.tokenizer = tokenizer
        phrases = terms.map { term in
            let tokenization: FTS5Tokenization = term.isPrefix ? [.query, .prefix] : .query
            let text = Self.tokens(of: Array(term.text.utf8), tokenizer: tokenizer, tokenization: tokenization)
            return Phrase(tokens: text.tokens.indices.map { Array(text.bytes(of: $0)) }, isPrefix: term.isPrefix)
        }.filter { !$0.tokens.isEmpty }
    }

    /// The excerpt of `text`, matches between ``ChatSearchHit/rawStart`` and ``ChatSearchHit/rawEnd``
    /// (none when `marksMatches` is false: the query searched the other side of the chat).
    func snippet(of text: String, marksMatches: Bool = true) -> String {
        let utf8 = Array(text.utf8)
        let tokenized = Self.tokens(of: utf8, tokenizer: tokenizer, tokenization: .document)
        let matches = marksMatches ? self.matches(in: tokenized) : []
        let count = tokenized.tokens.count
        let first = Self.windowStart(matches: matches, tokens: count, sentenceStarts: Self.sentenceStarts(tokenized, utf8: utf8))
        let last = min(first + Self.windowTokens, count) - 1
        var output: [UInt8] = []
        output.reserveCapacity(min(utf8.count, 512) + 32)
        if first > 0 { output += ChatSearchHit.ellipsis.utf8 }
        var copied = first > 0 ? Int(tokenized.tokens[first].textStart) : 0
        // A match that starts before the window is not marked, one that runs past its end is marked up
        // to it (as FTS5 does).
        for span in Self.coalesced(matches) where span.first >= first && span.first <= last {
            let from = Int(tokenized.tokens[span.first].textStart)
            let to = Int(tokenized.tokens[min(span.last, last)].textEnd)
            output += utf8[copied..<from]
            output += ChatSearchHit.rawStart.utf8
            output += utf8[from..<to]
            output += ChatSearchHit.rawEnd.utf8
            copied = to
        }
        if last >= count - 1 {
            output += utf8[copied...]
        } else {
            output += utf8[copied..<Int(tokenized.tokens[last].textEnd)]
            output += ChatSearchHit.ellipsis.utf8
        }
        return String(decoding: output, as: UTF8.self)
    }

    // MARK: Matching

    /// A phrase found in the text: its first and last token.
    struct Match: Equatable {
        var phrase: Int
        var first: Int
        var last: Int
    }

    /// Every instance of every phrase, in the order of the text (then of the phrases), as FTS5 lists them.
    private func matches(in text: TokenizedText) -> [Match] {
        var matches: [Match] = []
        let count = text.tokens.count
        for position in 0..<count {
            for (index, phrase) in phrases.enumerated() where position + phrase.tokens.count <= count {
                let found = phrase.tokens.indices.allSatisfy { offset in
                    let token = text.bytes(of: position + offset)
                    let wanted = phrase.tokens[offset]
                    if phrase.isPrefix && offset == phrase.tokens.count - 1 {
                        return token.starts(with: wanted)
                    }
                    return token.elementsEqual(wanted)
                }
                if found { matches.append(Match(phrase: index, first: position, last: position + phrase.tokens.count - 1)) }
            }
        }
        return matches
    }

    /// Matches that overlap merged into one marked span (FTS5 marks `a b` in "a b c" once when both
    /// `"a b"` and `b` are searched).
    static func coalesced(_ matches: [Match]) -> [(first: Int, last: Int)] {
        var spans: [(first: Int, last: Int)] = []
        for match in matches {
            if let previous = spans.last, match.first <= previous.last {
                spans[spans.count - 1].last = max(previous.last, match.last)
            } else {
                spans.append((match.first, match.last))
            }
        }
        return spans
    }

    /// The first token of the window, as FTS5's `snippet()` places it: for each match, the window
    /// starting there is scored 1,000 for each phrase it holds and 1 for each further match of a phrase,
    /// and centred on the matches it holds; the window starting at the sentence the match is in scores
    /// the same plus 100 (120 for the text's first sentence), so a window that holds the same matches
    /// from the start of a sentence wins. The best is the first of equals.
    static func windowStart(matches: [Match], tokens: Int, sentenceStarts: [Int]) -> Int {
        guard tokens > windowTokens else { return 0 }
        var seen = [Bool](repeating: false, count: (matches.map(\.phrase).max() ?? 0) + 1)
        /// The score of the window from `start`, and the first and end (exclusive) tokens of its matches.
        /// Reads only the matches inside the window (FTS5 reads every match of the row for each window,
        /// which a long chat full of the searched word makes quadratic).
        func score(from start: Int) -> (score: Int, first: Int, end: Int) {
            for index in seen.indices { seen[index] = false }
            var result = (score: 0, first: -1, end: start)
            var index = matches.partitioningIndex { $0.first >= start }
            while index < matches.count, matches[index].first < start + windowTokens {
                let match = matches[index]
                result.score += seen[match.phrase] ? 1 : 1000
                seen[match.phrase] = true
                if result.first < 0 { result.first = match.first }
                result.end = match.last + 1
                index += 1
            }
            return result
        }
        var best = (score: 0, start: 0)
        for anchor in matches {
            let window = score(from: anchor.first)
            if window.score > best.score {
                let centred = window.first - (windowTokens - (window.end - window.first)) / 2
                best = (window.score, max(0, min(centred, tokens - windowTokens)))
            }
            // The sentence the match is in: the last sentence start at or before it.
            let following = sentenceStarts.partitioningIndex { $0 > anchor.first }
            guard following > 0, sentenceStarts[following - 1] < anchor.first else { continue }
            let sentence = sentenceStarts[following - 1]
            let fromSentence = score(from: sentence).score + (sentence == 0 ? 120 : 100)
            if fromSentence > best.score { best = (fromSentence, sentence) }
        }
        return best.start
    }

    /// The tokens that start a sentence, as FTS5 finds them: the first, and each one after a `.` or `:`
    /// and white space.
    static func sentenceStarts(_ text: TokenizedText, utf8: [UInt8]) -> [Int] {
        var starts: [Int] = []
        for (index, token) in text.tokens.enumerated() {
            guard index > 0 else { starts.append(0); continue }
            var before = Int(token.textStart) - 1
            while before >= 0, Self.isSentenceSpace(utf8[before]) { before -= 1 }
            if before >= 0, before != Int(token.textStart) - 1, utf8[before] == UInt8(ascii: ".") || utf8[before] == UInt8(ascii: ":") {
                starts.append(index)
            }
        }
        return starts
    }

    /// The white space FTS5 skips back over from a token to find a sentence's end.
    private static func isSentenceSpace(_ byte: UInt8) -> Bool {
        byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") || byte == UInt8(ascii: "\n") || byte == UInt8(ascii: "\r")
    }

    // MARK: Tokenizing

    /// Tokens of a text as the index's tokenizer makes them: each token's bytes (folded, stemmed) back
    /// to back, and where each token lies in the text.
    struct TokenizedText {
        struct Token {
            var bytesStart: Int32
            var bytesEnd: Int32
            var textStart: Int32
            var textEnd: Int32
        }

        var bytes: [UInt8] = []
        var tokens: [Token] = []

        func bytes(of index: Int) -> ArraySlice<UInt8> {
            bytes[Int(tokens[index].bytesStart)..<Int(tokens[index].bytesEnd)]
        }
    }

    /// Collects tokens for the C callback, which captures nothing and gets this through its context pointer.
    private final class TokenSink {
        var text = TokenizedText()
    }

    private static func tokens(of utf8: [UInt8], tokenizer: any FTS5Tokenizer, tokenization: FTS5Tokenization) -> TokenizedText {
        let sink = TokenSink()
        sink.text.tokens.reserveCapacity(utf8.count / 5)
        sink.text.bytes.reserveCapacity(utf8.count)
        utf8.withUnsafeBufferPointer { buffer in
            // An empty array may have no address; FTS5 needs one even for no bytes.
            let empty: [CChar] = [0]
            empty.withUnsafeBufferPointer { fallback in
                let text = buffer.baseAddress.map { UnsafeRawPointer($0).assumingMemoryBound(to: CChar.self) } ?? fallback.baseAddress
                // Only the tokenizer's own failure (out of memory) can stop it: the excerpt then has the
                // tokens found so far, which is what an excerpt of a text it cannot read should show.
                _ = tokenizer.tokenize(context: Unmanaged.passUnretained(sink).toOpaque(), tokenization: tokenization,
                                       pText: text, nText: CInt(buffer.count)) { context, flags, token, length, start, end in
                    guard let context else { return SQLITE_ERROR }
                    // Colocated tokens (synonyms) share the position of the token before; no tokenizer here makes them.
                    guard flags & FTS5_TOKEN_COLOCATED == 0 else { return SQLITE_OK }
                    let sink = Unmanaged<TokenSink>.fromOpaque(context).takeUnretainedValue()
                    let bytesStart = Int32(sink.text.bytes.count)
                    if let token, length > 0 {
                        token.withMemoryRebound(to: UInt8.self, capacity: Int(length)) {
                            sink.text.bytes.append(contentsOf: UnsafeBufferPointer(start: $0, count: Int(length)))
                        }
                    }
                    sink.text.tokens.append(.init(bytesStart: bytesStart, bytesEnd: Int32(sink.text.bytes.count), textStart: start, textEnd: end))
                    return SQLITE_OK
                }
            }
        }
        return sink.text
    }
}
