/// A JSON Schema `pattern` (ECMA-262 syntax, matched on Unicode code points), compiled for a
/// matcher whose work is linear in the input: a Pike VM (Thompson's NFA simulation) runs every
/// alternative in lock-step, so it looks at each input character once per instruction at most.
/// `^(a+)+$` against `"aaaa…ab"`, exponential for a backtracking engine, costs the same here as
/// any other pattern of its size.
///
/// The price is the constructs that need backtracking: backreferences (`\1`, `\k<name>`) and
/// lookaround (`(?=`, `(?!`, `(?<=`, `(?<!`) are refused when the pattern is compiled, with an
/// error naming the construct, and so are ICU/PCRE extensions ECMA-262 does not have (inline flags,
/// atomic groups, possessive quantifiers). Supported: literals and escapes (`\t \n \r \f \v \0
/// \cX \xHH \uHHHH \u{H…}`), `.`, classes `[…]`/`[^…]` with ranges, `\d \D \w \W \s \S`, `\p{…}`/`\P{…}`
/// for general categories, `^ $ \b \B`, groups `(…)`, `(?:…)`, `(?<name>…)`, alternation, and
/// quantifiers `* + ? {n} {n,} {n,m}` (greedy or lazy: both only decide which match, not whether).
public struct SchemaPattern: Sendable {
    /// The largest count a `{n,m}` may have.
    public static let maxRepetition = 1000
    /// The most instructions a compiled pattern may have (counted repetitions are unrolled).
    public static let maxInstructions = 20_000

    /// Why a pattern cannot be used; `message` names the construct and where it is.
    public struct SyntaxError: Error, Sendable, Equatable, CustomStringConvertible {
        public var message: String
        public var description: String { message }
    }

    let program: [Instruction]

    /// Compiles `pattern`; throws ``SyntaxError`` for invalid or unsupported syntax.
    public init(_ pattern: String) throws {
        var parser = Parser(scalars: Array(pattern.unicodeScalars))
        let node = try parser.parseAll()
        var compiler = Compiler()
        try compiler.emit(node)
        compiler.program.append(.match)
        program = compiler.program
    }

    /// Whether the pattern matches anywhere in `text` (JSON Schema patterns are not anchored).
    public func matches(_ text: String) -> Bool {
        PikeVM(program: program, input: Array(text.unicodeScalars)).run()
    }
}

// MARK: Syntax tree

extension SchemaPattern {
    indirect enum Node {
        case empty
        case scalar(Unicode.Scalar)
        case set(CharacterClass)
        case startAnchor
        case endAnchor
        case wordBoundary(negated: Bool)
        case concatenation([Node])
        case alternation([Node])
        case repetition(Node, min: Int, max: Int?)
    }

    /// A set of code points: ranges and built-in classes, possibly negated as a whole.
    struct CharacterClass: Sendable {
        enum Item: Sendable {
            case range(UInt32, UInt32)
            case builtin(Builtin, negated: Bool)
        }

        enum Builtin: Sendable {
            case digit, word, space
            case dot
            case category(String)
        }

        var items: [Item]
        var negated: Bool

        func contains(_ scalar: Unicode.Scalar) -> Bool {
            let value = scalar.value
            var found = false
            for item in items {
                switch item {
                case .range(let low, let high): found = low <= value && value <= high
                case .builtin(let builtin, let negated): found = builtin.contains(scalar) != negated
                }
                if found { break }
            }
            return found != negated
        }
    }
}

extension SchemaPattern.CharacterClass.Builtin {
    func contains(_ scalar: Unicode.Scalar) -> Bool {
        let value = scalar.value
        switch self {
        case .digit: return (0x30...0x39).contains(value)
        case .word: return SchemaPattern.isWordCharacter(scalar)
        case .space:
            switch value {
            case 0x09...0x0D, 0x20, 0xA0, 0x1680, 0x2000...0x200A, 0x2028, 0x2029, 0x202F, 0x205F, 0x3000, 0xFEFF: return true
            default: return false
            }
        case .dot:
            return value != 0x0A && value != 0x0D && value != 0x2028 && value != 0x2029
        case .category(let name):
            let category = SchemaPattern.categoryCode(scalar.properties.generalCategory)
            return name.count == 1 ? category.hasPrefix(name) : category == name
        }
    }
}

extension SchemaPattern {
    static func isWordCharacter(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x30...0x39, 0x41...0x5A, 0x61...0x7A, 0x5F: true
        default: false
        }
    }

    /// The two-letter Unicode code of a general category (`Lu`, `Nd`, …).
    static func categoryCode(_ category: Unicode.GeneralCategory) -> String {
        switch category {
        case .uppercaseLetter: "Lu"
        case .lowercaseLetter: "Ll"
        case .titlecaseLetter: "Lt"
        case .modifierLetter: "Lm"
        case .otherLetter: "Lo"
        case .nonspacingMark: "Mn"
        case .spacingMark: "Mc"
        case .enclosingMark: "Me"
        case .decimalNumber: "Nd"
        case .letterNumber: "Nl"
        case .otherNumber: "No"
        case .connectorPunctuation: "Pc"
        case .dashPunctuation: "Pd"
        case .openPunctuation: "Ps"
        case .closePunctuation: "Pe"
        case .initialPunctuation: "Pi"
        case .finalPunctuation: "Pf"
        case .otherPunctuation: "Po"
        case .mathSymbol: "Sm"
        case .currencySymbol: "Sc"
        case .modifierSymbol: "Sk"
        case .otherSymbol: "So"
        case .spaceSeparator: "Zs"
        case .lineSeparator: "Zl"
        case .paragraphSeparator: "Zp"
        case .control: "Cc"
        case .format: "Cf"
        case .surrogate: "Cs"
        case .privateUse: "Co"
        case .unassigned: "Cn"
        @unknown default: "Cn"
        }
    }

    /// Category names `\p{…}` accepts: one-letter groups, two-letter codes, and their long names.
    static let categoryNames: [String: String] = {
        var names: [String: String] = [:]
        for code in ["L", "Lu", "Ll", "Lt", "Lm", "Lo", "M", "Mn", "Mc", "Me", "N", "Nd", "Nl", "No", "P", "Pc", "Pd", "Ps", "Pe",
                     "Pi", "Pf", "Po", "S", "Sm", "Sc", "Sk", "So", "Z", "Zs", "Zl", "Zp", "C", "Cc", "Cf", "Cs", "Co", "Cn"] {
            names[code] = code
        }
        let long = ["Letter": "L", "Uppercase_Letter": "Lu", "Lowercase_Letter": "Ll", "Titlecase_Letter": "Lt",
                    "Modifier_Letter": "Lm", "Other_Letter": "Lo", "Mark": "M", "Number": "N", "Decimal_Number": "Nd",
                    "Letter_Number": "Nl", "Other_Number": "No", "Punctuation": "P", "Symbol": "S", "Separator": "Z",
                    "Space_Separator": "Zs", "Other": "C", "Control": "Cc", "Format": "Cf", "Private_Use": "Co",
                    "Unassigned": "Cn", "digit": "Nd"]
        names.merge(long) { first, _ in first }
        return names
    }()
}

// MARK: Parser

extension SchemaPattern {
    struct Parser {
        let scalars: [Unicode.Scalar]
        var index = 0
        var groupDepth = 0

        init(scalars: [Unicode.Scalar]) {
            self.scalars = scalars
        }

        var atEnd: Bool { index >= scalars.count }
        var peek: Unicode.Scalar? { atEnd ? nil : scalars[index] }

        func error(_ message: String) -> SyntaxError {
            SyntaxError(message: "\(message) (at offset \(index))")
        }

        func unsupported(_ construct: String) -> SyntaxError {
            SyntaxError(message: "\(construct) at offset \(index) is not supported: patterns are matched in linear time, "
                + "without backreferences or lookaround")
        }

        mutating func parseAll() throws -> Node {
            let node = try parseAlternation()
            if !atEnd { throw error("unmatched ')'") }
            return node
        }

        mutating func parseAlternation() throws -> Node {
            var branches = [try parseSequence()]
            while peek == "|" {
                index += 1
                branches.append(try parseSequence())
            }
            return branches.count == 1 ? branches[0] : .alternation(branches)
        }

        mutating func parseSequence() throws -> Node {
            var items: [Node] = []
            while let scalar = peek, scalar != "|", scalar != ")" {
                let atomStart = index
                guard let atom = try parseAtom() else { continue }
                items.append(try parseQuantifiers(atom, atomStart: atomStart))
            }
            return items.count == 1 ? items[0] : .concatenation(items)
        }

        mutating func parseQuantifiers(_ atom: Node, atomStart: Int) throws -> Node {
            var node = atom
            var quantified = false
            while let scalar = peek {
                var bounds: (Int, Int?)
                switch scalar {
                case "*": bounds = (0, nil); index += 1
                case "+": bounds = (1, nil); index += 1
                case "?": bounds = (0, 1); index += 1
                case "{":
                    guard let counted = try parseBraces() else { return node }
                    bounds = counted
                default: return node
                }
                if quantified { throw error("a quantifier may not follow another quantifier") }
                switch atom {
                case .startAnchor, .endAnchor, .wordBoundary: throw error("nothing to repeat before '\(scalar)'")
                default: break
                }
                node = .repetition(node, min: bounds.0, max: bounds.1)
                quantified = true
                if peek == "?" {
                    index += 1  // lazy: same language, so the same answer to "does it match"
                } else if peek == "+" {
                    throw unsupported("a possessive quantifier ('+' after a quantifier)")
                }
            }
            return node
        }

        /// `{n}`, `{n,}`, `{n,m}` at `index`; `nil` (and `index` unchanged) when the brace is a literal.
        mutating func parseBraces() throws -> (Int, Int?)? {
            let start = index
            index += 1
            func number() -> Int? {
                var value: Int?
                while let scalar = peek, let digit = Int(String(scalar)), scalar.isASCII {
                    value = min((value ?? 0) * 10 + digit, Int(Int32.max))
                    index += 1
                }
                return value
            }
            guard let low = number() else { index = start; return nil }
            var high: Int? = low
            if peek == "," {
                index += 1
                high = number()
            }
            guard peek == "}" else { index = start; return nil }
            index += 1
            if let high, high < low { throw error("numbers out of order in {\(low),\(high)} quantifier") }
            if low > SchemaPattern.maxRepetition || (high ?? 0) > SchemaPattern.maxRepetition {
                throw error("a repetition count above \(SchemaPattern.maxRepetition) is not supported")
            }
            return (low, high)
        }

        /// One atom, or `nil` when the input held nothing to match (never happens today).
        mutating func parseAtom() throws -> Node? {
            guard let scalar = peek else { return nil }
            switch scalar {
            case "^": index += 1; return .startAnchor
            case "$": index += 1; return .endAnchor
            case ".": index += 1; return .set(CharacterClass(items: [.builtin(.dot, negated: false)], negated: false))
            case "*", "+", "?": throw error("nothing to repeat before '\(scalar)'")
            case "(": return try parseGroup()
            case "[": return .set(try parseClass())
            case "\\": return try parseEscape()
            case "{":
                if try parseBraces() != nil { throw error("nothing to repeat before '{'") }
                index += 1
                return .scalar(scalar)
            default:
                index += 1
                return .scalar(scalar)
            }
        }

        mutating func parseGroup() throws -> Node {
            index += 1  // (
            if peek == "?" {
                let next = index + 1 < scalars.count ? scalars[index + 1] : nil
                let after = index + 2 < scalars.count ? scalars[index + 2] : nil
                switch (next, after) {
                case (":", _): index += 2
                case ("=", _): throw unsupported("lookahead '(?='")
                case ("!", _): throw unsupported("negative lookahead '(?!'")
                case ("<", "="): throw unsupported("lookbehind '(?<='")
                case ("<", "!"): throw unsupported("negative lookbehind '(?<!'")
                case ("<", _):
                    index += 2
                    var name = ""
                    while let scalar = peek, scalar != ">" {
                        guard SchemaPattern.isWordCharacter(scalar) || scalar == "$" || scalar.properties.isAlphabetic else {
                            throw error("invalid group name")
                        }
                        name.unicodeScalars.append(scalar)
                        index += 1
                    }
                    guard peek == ">", !name.isEmpty else { throw error("unterminated group name") }
                    index += 1
                case (">", _): throw unsupported("an atomic group '(?>'")
                default: throw unsupported("the group syntax '(?\(next.map(String.init) ?? "")'")
                }
            }
            groupDepth += 1
            defer { groupDepth -= 1 }
            if groupDepth > 200 { throw error("groups nested more than 200 deep") }
            let inner = try parseAlternation()
            guard peek == ")" else { throw error("missing ')'") }
            index += 1
            return inner
        }

        mutating func parseEscape() throws -> Node {
            index += 1  // backslash
            guard let scalar = peek else { throw error("'\\' at the end of the pattern") }
            switch scalar {
            case "b": index += 1; return .wordBoundary(negated: false)
            case "B": index += 1; return .wordBoundary(negated: true)
            case "1"..."9": throw unsupported("a backreference '\\\(scalar)'")
            case "k": throw unsupported("a named backreference '\\k'")
            default:
                let item = try parseClassEscape(inClass: false)
                switch item {
                case .range(let low, let high) where low == high:
                    // A lone surrogate (`\uD800`) is no code point: it stays a set that matches nothing.
                    if let single = Unicode.Scalar(low) { return .scalar(single) }
                    return .set(CharacterClass(items: [item], negated: false))
                default: return .set(CharacterClass(items: [item], negated: false))
                }
            }
        }

        /// The escape after a backslash (at `index`), as a class item: one code point or a built-in class.
        mutating func parseClassEscape(inClass: Bool) throws -> CharacterClass.Item {
            guard let scalar = peek else { throw error("'\\' at the end of the pattern") }
            index += 1
            func single(_ value: UInt32) -> CharacterClass.Item { .range(value, value) }
            switch scalar {
            case "d": return .builtin(.digit, negated: false)
            case "D": return .builtin(.digit, negated: true)
            case "w": return .builtin(.word, negated: false)
            case "W": return .builtin(.word, negated: true)
            case "s": return .builtin(.space, negated: false)
            case "S": return .builtin(.space, negated: true)
            case "t": return single(0x09)
            case "n": return single(0x0A)
            case "v": return single(0x0B)
            case "f": return single(0x0C)
            case "r": return single(0x0D)
            case "b" where inClass: return single(0x08)
            case "0":
                if let next = peek, (0x30...0x39).contains(next.value) { throw unsupported("an octal escape '\\0\(next)'") }
                return single(0)
            case "1"..."9": throw unsupported("a backreference '\\\(scalar)'")
            case "c":
                guard let letter = peek, letter.isASCII, letter.properties.isAlphabetic else { throw error("invalid '\\c' escape") }
                index += 1
                return single(letter.value % 32)
            case "x":
                return single(try hexDigits(count: 2))
            case "u":
                if peek == "{" {
                    index += 1
                    var value: UInt32 = 0
                    var digits = 0
                    while let next = peek, next != "}" {
                        guard next.isASCII, let digit = UInt32(String(next), radix: 16) else {
                            throw error("invalid '\\u{…}' escape")
                        }
                        value = value * 16 + digit
                        digits += 1
                        guard value <= 0x10FFFF else { throw error("'\\u{…}' beyond U+10FFFF") }
                        index += 1
                    }
                    guard peek == "}", digits > 0 else { throw error("unterminated '\\u{…}' escape") }
                    index += 1
                    return single(value)
                }
                return single(try hexDigits(count: 4))
            case "p", "P":
                guard peek == "{" else { throw error("'\\\(scalar)' needs a '{name}'") }
                index += 1
                var name = ""
                while let next = peek, next != "}" {
                    name.unicodeScalars.append(next)
                    index += 1
                }
                guard peek == "}" else { throw error("unterminated '\\\(scalar){…}'") }
                index += 1
                let bare = name.hasPrefix("General_Category=") ? String(name.dropFirst(17)) : name.hasPrefix("gc=") ? String(name.dropFirst(3)) : name
                guard let code = SchemaPattern.categoryNames[bare] else {
                    throw unsupported("the Unicode property '\\\(scalar){\(name)}' (only general categories such as L, Lu, Nd are)")
                }
                return .builtin(.category(code), negated: scalar == "P")
            case "k": throw unsupported("a named backreference '\\k'")
            default:
                // Identity escapes: any punctuation or symbol stands for itself; letters and digits
                // with no meaning above are mistakes ECMA-262's Unicode mode refuses too.
                if scalar.isASCII && (scalar.properties.isAlphabetic || (0x30...0x39).contains(scalar.value)) {
                    throw error("unknown escape '\\\(scalar)'")
                }
                return single(scalar.value)
            }
        }

        mutating func hexDigits(count: Int) throws -> UInt32 {
            guard index + count <= scalars.count else { throw error("incomplete hexadecimal escape") }
            var value: UInt32 = 0
            for _ in 0..<count {
                guard scalars[index].isASCII, let digit = UInt32(String(scalars[index]), radix: 16) else {
                    throw error("invalid hexadecimal escape")
                }
                value = value * 16 + digit
                index += 1
            }
            // A lone surrogate matches nothing in a string of code points.
            return value
        }

        mutating func parseClass() throws -> CharacterClass {
            index += 1  // [
            var negated = false
            if peek == "^" {
                negated = true
                index += 1
            }
            var items: [CharacterClass.Item] = []
            while true {
                guard let scalar = peek else { throw error("missing ']'") }
                if scalar == "]" {
                    index += 1
                    break
                }
                let first = try classAtom()
                // A range `a-z`, unless the '-' ends the class.
                if peek == "-", index + 1 < scalars.count, scalars[index + 1] != "]" {
                    index += 1
                    let last = try classAtom()
                    guard case .range(let low, let lowEnd) = first, low == lowEnd, case .range(let high, let highEnd) = last, high == highEnd else {
                        throw error("a class like \\d cannot be a range bound")
                    }
                    guard low <= high else { throw error("range out of order in character class") }
                    items.append(.range(low, high))
                } else {
                    items.append(first)
                }
            }
            return CharacterClass(items: items, negated: negated)
        }

        mutating func classAtom() throws -> CharacterClass.Item {
            guard let scalar = peek else { throw error("missing ']'") }
            if scalar == "\\" {
                index += 1
                return try parseClassEscape(inClass: true)
            }
            index += 1
            return .range(scalar.value, scalar.value)
        }
    }
}

// MARK: Program

extension SchemaPattern {
    enum Instruction: Sendable {
        case scalar(UInt32)
        case set(CharacterClass)
        /// Continue at both targets (an NFA ε-fork).
        case split(Int, Int)
        case jump(Int)
        case assertStart
        case assertEnd
        case assertWordBoundary(negated: Bool)
        case match
    }

    struct Compiler {
        var program: [Instruction] = []

        mutating func append(_ instruction: Instruction) throws {
            guard program.count < SchemaPattern.maxInstructions else {
                throw SyntaxError(message: "the pattern is too large once its counted repetitions are expanded "
                    + "(more than \(SchemaPattern.maxInstructions) steps); use smaller {n,m} counts")
            }
            program.append(instruction)
        }

        mutating func emit(_ node: Node) throws {
            switch node {
            case .empty: break
            case .scalar(let scalar): try append(.scalar(scalar.value))
            case .set(let set): try append(.set(set))
            case .startAnchor: try append(.assertStart)
            case .endAnchor: try append(.assertEnd)
            case .wordBoundary(let negated): try append(.assertWordBoundary(negated: negated))
            case .concatenation(let nodes):
                for node in nodes { try emit(node) }
            case .alternation(let branches):
                // split L1, next; L1: branch; jmp end; next: split … ; last branch
                var jumps: [Int] = []
                for (position, branch) in branches.enumerated() {
                    if position < branches.count - 1 {
                        let split = program.count
                        try append(.split(split + 1, 0))
                        try emit(branch)
                        jumps.append(program.count)
                        try append(.jump(0))
                        program[split] = .split(split + 1, program.count)
                    } else {
                        try emit(branch)
                    }
                }
                for jump in jumps { program[jump] = .jump(program.count) }
            case .repetition(let inner, let min, let max):
                for _ in 0..<min { try emit(inner) }
                if let max {
                    // (inner (inner (…)?)?)?: each optional copy may be skipped to the end.
                    var splits: [Int] = []
                    for _ in min..<max {
                        splits.append(program.count)
                        try append(.split(0, 0))
                        try emit(inner)
                    }
                    for split in splits { program[split] = .split(split + 1, program.count) }
                } else {
                    // L: split body, end; body; jmp L
                    let loop = program.count
                    try append(.split(loop + 1, 0))
                    try emit(inner)
                    try append(.jump(loop))
                    program[loop] = .split(loop + 1, program.count)
                }
            }
        }
    }
}

// MARK: Matching

extension SchemaPattern {
    /// Thompson NFA simulation: the set of live instructions advances one input code point at a
    /// time; each instruction is in a set at most once per position, so the work is at most
    /// (input length + 1) × program size.
    struct PikeVM {
        let program: [Instruction]
        let input: [Unicode.Scalar]

        func run() -> Bool {
            var current = SparseSet(capacity: program.count)
            var next = SparseSet(capacity: program.count)
            var stack: [Int] = []
            for position in 0...input.count {
                // Unanchored search: a new thread starts at every position.
                if addThread(0, at: position, to: &current, stack: &stack) { return true }
                guard position < input.count else { break }
                let scalar = input[position]
                next.removeAll()
                for pc in current.members {
                    let advances: Bool
                    switch program[pc] {
                    case .scalar(let value): advances = scalar.value == value
                    case .set(let set): advances = set.contains(scalar)
                    default: advances = false
                    }
                    if advances, addThread(pc + 1, at: position + 1, to: &next, stack: &stack) { return true }
                }
                swap(&current, &next)
            }
            return false
        }

        /// Adds `pc` and everything reachable from it without consuming input; true when that reaches `match`.
        func addThread(_ start: Int, at position: Int, to list: inout SparseSet, stack: inout [Int]) -> Bool {
            stack.removeAll(keepingCapacity: true)
            stack.append(start)
            while let pc = stack.popLast() {
                guard list.insert(pc) else { continue }
                switch program[pc] {
                case .match: return true
                case .jump(let target): stack.append(target)
                case .split(let first, let second):
                    stack.append(second)
                    stack.append(first)
                case .assertStart: if position == 0 { stack.append(pc + 1) }
                case .assertEnd: if position == input.count { stack.append(pc + 1) }
                case .assertWordBoundary(let negated):
                    let before = position > 0 && SchemaPattern.isWordCharacter(input[position - 1])
                    let after = position < input.count && SchemaPattern.isWordCharacter(input[position])
                    if (before != after) != negated { stack.append(pc + 1) }
                case .scalar, .set: break
                }
            }
            return false
        }
    }

    /// A set of instruction indexes with O(1) insert, membership and clear, iterated in insertion order.
    struct SparseSet {
        private var dense: [Int]
        private var sparse: [Int]
        private(set) var count = 0

        init(capacity: Int) {
            dense = Array(repeating: 0, count: capacity)
            sparse = Array(repeating: 0, count: capacity)
        }

        /// Inserts `value`; false when it was already there.
        mutating func insert(_ value: Int) -> Bool {
            let slot = sparse[value]
            if slot < count && dense[slot] == value { return false }
            sparse[value] = count
            dense[count] = value
            count += 1
            return true
        }

        mutating func removeAll() { count = 0 }

        var members: ArraySlice<Int> { dense[0..<count] }
    }
}
