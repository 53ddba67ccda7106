/// Turns what a user typed into an FTS5 MATCH expression that can never be a syntax error.
///
/// The language: bare words (all must match), `"quoted phrases"`, and `term*` prefixes (also
/// `"a phrase"*`). Everything else — unbalanced quotes, operators (`AND`, `OR`, `NOT`, `NEAR`),
/// parentheses, `-`, `:`, `^`, column filters, emoji, SQL — is searched as plain text: every
/// token is written as an FTS5 string literal, so FTS5 never interprets it. Control characters
/// separate words like spaces: FTS5 reads its expression as a C string, so a NUL inside a literal
/// would end it mid-quote (a syntax error), and no tokenizer keeps them in a token anyway.
public enum SearchQueryParser {
    /// One searchable unit: a word or a phrase, optionally a prefix.
    public struct Term: Sendable, Equatable {
        public var text: String
        public var isPrefix: Bool
        public var isPhrase: Bool
    }

    /// The most terms a query may have; more are ignored (bounds the cost of a query).
    public static let maxTerms = 32

    /// The terms of `input`, without those that hold no letter or digit (FTS5 would find no token in them).
    public static func terms(_ input: String) -> [Term] {
        var terms: [Term] = []
        var characters = Array(input.unicodeScalars)
        // An unbalanced final quote is text, not the start of a phrase.
        if characters.filter({ $0 == "\"" }).count % 2 == 1, let last = characters.lastIndex(of: "\"") {
            characters[last] = " "
        }
        var index = 0
        var word = String.UnicodeScalarView()
        func flushWord() {
            defer { word = String.UnicodeScalarView() }
            var text = String(word)
            var isPrefix = false
            if text.hasSuffix("*") {
                while text.hasSuffix("*") { text.removeLast() }
                isPrefix = true
            }
            append(Term(text: text, isPrefix: isPrefix, isPhrase: false))
        }
        func append(_ term: Term) {
            guard terms.count < maxTerms, term.text.unicodeScalars.contains(where: isTokenCharacter) else { return }
            terms.append(term)
        }
        while index < characters.count {
            let scalar = characters[index]
            if scalar == "\"" {
                flushWord()
                var phrase = String.UnicodeScalarView()
                index += 1
                while index < characters.count, characters[index] != "\"" {
                    phrase.append(isSeparator(characters[index]) ? " " : characters[index])
                    index += 1
                }
                index += 1  // the closing quote
                var isPrefix = false
                while index < characters.count, characters[index] == "*" {
                    isPrefix = true
                    index += 1
                }
                append(Term(text: String(phrase), isPrefix: isPrefix, isPhrase: true))
                continue
            }
            if isSeparator(scalar) {
                flushWord()
            } else {
                word.append(scalar)
            }
            index += 1
        }
        flushWord()
        return terms
    }

    /// The FTS5 MATCH expression for `input` restricted to `columns` (all columns when empty),
    /// or `nil` when the input has nothing to search for.
    public static func matchExpression(_ input: String, columns: [String] = []) -> String? {
        let phrases = phrases(input, columns: columns)
        return phrases.isEmpty ? nil : phrases.joined(separator: " AND ")
    }

    /// Each term of `input` as an FTS5 expression of one phrase (the match expression joins them with AND),
    /// in the order FTS5 numbers the phrases.
    public static func phrases(_ input: String, columns: [String] = []) -> [String] {
        let filter = columns.isEmpty ? "" : "{" + columns.joined(separator: " ") + "} : "
        return terms(input).map { term in
            filter + "\"" + term.text.replacingOccurrences(of: "\"", with: "\"\"") + "\"" + (term.isPrefix ? "*" : "")
        }
    }

    /// Whitespace and control characters (category Cc: C0, DEL and C1) end a word.
    static func isSeparator(_ scalar: Unicode.Scalar) -> Bool {
        scalar.properties.isWhitespace || scalar.properties.generalCategory == .control
    }

    /// Roughly the characters FTS5's unicode61 tokenizer keeps in tokens: letters, digits and private use.
    static func isTokenCharacter(_ scalar: Unicode.Scalar) -> Bool {
        if scalar.isASCII {
            let value = scalar.value
            return (0x30...0x39).contains(value) || (0x41...0x5A).contains(value) || (0x61...0x7A).contains(value)
        }
        switch scalar.properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter,
             .decimalNumber, .letterNumber, .otherNumber, .privateUse:
            return true
        default:
            return false
        }
    }
}
