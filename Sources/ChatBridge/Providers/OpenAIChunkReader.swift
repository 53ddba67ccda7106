/// Reads the fields ``OpenAIStreamDecoder`` uses from an OpenAI `chat.completion.chunk` in one pass
/// over its UTF-8 bytes, skipping every other field without building it.
///
/// Why: the upstream sends one chunk per token, and decoding each with Foundation's `JSONDecoder`
/// (a `Data` copy, a JSON map, keyed containers, one `Decodable` call per nested type) was the
/// largest single cost of relaying a stream (about a fifth of the server's CPU in a `perf` profile
/// of `/v1/chat/completions`). The reader only *takes* what `JSONDecoder` would decode to the same
/// value: plain JSON with the expected types, integers written as plain digits, keys without escapes,
/// each known key once. For anything else it answers `nil` and the caller decodes with
/// `JSONDecoder`, so odd and invalid chunks get exactly the old result or error.
enum OpenAIChunkReader {
    /// The chunk in `text`, or `nil` when the reader does not take it (decode it with `JSONDecoder`).
    static func read(_ text: String) -> OpenAIStreamDecoder.Chunk? {
        var text = text
        return text.withUTF8 { bytes in
            var reader = ChunkBytes(bytes: bytes)
            return try? reader.document()
        }
    }
}

/// What the reader does not take (the caller falls back to `JSONDecoder`).
private struct NotTaken: Error {}

private struct ChunkBytes {
    typealias Chunk = OpenAIStreamDecoder.Chunk

    let bytes: UnsafeBufferPointer<UInt8>
    var position = 0
    /// Nesting of skipped values; deeper than this is left to `JSONDecoder`.
    var depth = 0
    static let maxDepth = 64

    init(bytes: UnsafeBufferPointer<UInt8>) {
        self.bytes = bytes
    }

    // MARK: The chunk's shape

    mutating func document() throws(NotTaken) -> Chunk {
        let chunk = try chunk()
        skipWhitespace()
        guard position == bytes.count else { throw NotTaken() }
        return chunk
    }

    private mutating func chunk() throws(NotTaken) -> Chunk {
        var chunk = Chunk()
        var seen = KnownKeys()
        var first = true
        try open(UInt8(ascii: "{"))
        while let key = try nextKey(&first) {
            if isKey(key, "choices") {
                try seen.once(0)
                if try !null() {
                    var choices: [Chunk.Choice] = []
                    var firstElement = true
                    try open(UInt8(ascii: "["))
                    while try nextElement(&firstElement) { choices.append(try choice()) }
                    chunk.choices = choices
                }
            } else if isKey(key, "usage") {
                try seen.once(1)
                if try !null() { chunk.usage = try usage() }
            } else if isKey(key, "error") {
                try seen.once(2)
                if try !null() { chunk.error = try errorBody() }
            } else {
                try skipValue()
            }
        }
        return chunk
    }

    private mutating func choice() throws(NotTaken) -> Chunk.Choice {
        var choice = Chunk.Choice()
        var seen = KnownKeys()
        var first = true
        try open(UInt8(ascii: "{"))
        while let key = try nextKey(&first) {
            if isKey(key, "delta") {
                try seen.once(0)
                if try !null() { choice.delta = try delta() }
            } else if isKey(key, "finish_reason") {
                try seen.once(1)
                choice.finish_reason = try optionalString()
            } else {
                try skipValue()
            }
        }
        return choice
    }

    private mutating func delta() throws(NotTaken) -> Chunk.Choice.Delta {
        var delta = Chunk.Choice.Delta()
        var seen = KnownKeys()
        var first = true
        try open(UInt8(ascii: "{"))
        while let key = try nextKey(&first) {
            if isKey(key, "content") {
                try seen.once(0)
                delta.content = try optionalString()
            } else if isKey(key, "tool_calls") {
                try seen.once(1)
                if try !null() {
                    var calls: [Chunk.Choice.Delta.ToolCallDelta] = []
                    var firstElement = true
                    try open(UInt8(ascii: "["))
                    while try nextElement(&firstElement) { calls.append(try toolCall()) }
                    delta.tool_calls = calls
                }
            } else {
                try skipValue()
            }
        }
        return delta
    }

    private mutating func toolCall() throws(NotTaken) -> Chunk.Choice.Delta.ToolCallDelta {
        var call = Chunk.Choice.Delta.ToolCallDelta()
        var seen = KnownKeys()
        var first = true
        try open(UInt8(ascii: "{"))
        while let key = try nextKey(&first) {
            if isKey(key, "index") {
                try seen.once(0)
                call.index = try optionalInt()
            } else if isKey(key, "id") {
                try seen.once(1)
                call.id = try optionalString()
            } else if isKey(key, "function") {
                try seen.once(2)
                if try !null() {
                    var function = Chunk.Choice.Delta.ToolCallDelta.Function()
                    var functionSeen = KnownKeys()
                    var firstField = true
                    try open(UInt8(ascii: "{"))
                    while let field = try nextKey(&firstField) {
                        if isKey(field, "name") {
                            try functionSeen.once(0)
                            function.name = try optionalString()
                        } else if isKey(field, "arguments") {
                            try functionSeen.once(1)
                            function.arguments = try optionalString()
                        } else {
                            try skipValue()
                        }
                    }
                    call.function = function
                }
            } else {
                try skipValue()
            }
        }
        return call
    }

    private mutating func usage() throws(NotTaken) -> Chunk.UsageBody {
        var usage = Chunk.UsageBody()
        var seen = KnownKeys()
        var first = true
        try open(UInt8(ascii: "{"))
        while let key = try nextKey(&first) {
            if isKey(key, "prompt_tokens") {
                try seen.once(0)
                usage.prompt_tokens = try optionalInt()
            } else if isKey(key, "completion_tokens") {
                try seen.once(1)
                usage.completion_tokens = try optionalInt()
            } else {
                try skipValue()
            }
        }
        return usage
    }

    private mutating func errorBody() throws(NotTaken) -> Chunk.ErrorBody {
        var body = Chunk.ErrorBody()
        var seen = KnownKeys()
        var first = true
        try open(UInt8(ascii: "{"))
        while let key = try nextKey(&first) {
            if isKey(key, "message") {
                try seen.once(0)
                body.message = try optionalString()
            } else {
                try skipValue()
            }
        }
        return body
    }

    /// The known keys an object had so far: a repeated one is left to `JSONDecoder` (which value wins is its call).
    private struct KnownKeys {
        var bits: UInt8 = 0

        mutating func once(_ index: UInt8) throws(NotTaken) {
            let bit: UInt8 = 1 << index
            guard bits & bit == 0 else { throw NotTaken() }
            bits |= bit
        }
    }

    // MARK: JSON syntax

    private mutating func skipWhitespace() {
        while position < bytes.count {
            switch bytes[position] {
            case 0x20, 0x09, 0x0A, 0x0D: position += 1
            default: return
            }
        }
    }

    /// The next byte after whitespace, not consumed.
    private mutating func peek() throws(NotTaken) -> UInt8 {
        skipWhitespace()
        guard position < bytes.count else { throw NotTaken() }
        return bytes[position]
    }

    private mutating func open(_ byte: UInt8) throws(NotTaken) {
        guard try peek() == byte else { throw NotTaken() }
        position += 1
    }

    /// The byte range of the next key of an object whose `{` was read (the reader is then at its
    /// value), or `nil` at the object's `}`.
    private mutating func nextKey(_ first: inout Bool) throws(NotTaken) -> Range<Int>? {
        var byte = try peek()
        if byte == UInt8(ascii: "}") {
            position += 1
            return nil
        }
        if !first {
            guard byte == UInt8(ascii: ",") else { throw NotTaken() }
            position += 1
            byte = try peek()
        }
        first = false
        guard byte == UInt8(ascii: "\"") else { throw NotTaken() }
        let start = position + 1
        var end = start
        while true {
            guard end < bytes.count else { throw NotTaken() }
            let byte = bytes[end]
            if byte == UInt8(ascii: "\"") { break }
            // Escaped keys are rare enough to leave to JSONDecoder.
            if byte == UInt8(ascii: "\\") || byte < 0x20 { throw NotTaken() }
            end += 1
        }
        position = end + 1
        guard try peek() == UInt8(ascii: ":") else { throw NotTaken() }
        position += 1
        return start..<end
    }

    /// Whether an array whose `[` was read has another element (the reader is then at it).
    private mutating func nextElement(_ first: inout Bool) throws(NotTaken) -> Bool {
        let byte = try peek()
        if byte == UInt8(ascii: "]") {
            position += 1
            return false
        }
        if !first {
            guard byte == UInt8(ascii: ",") else { throw NotTaken() }
            position += 1
            _ = try peek()
        }
        first = false
        return true
    }

    private func isKey(_ range: Range<Int>, _ name: StaticString) -> Bool {
        guard range.count == name.utf8CodeUnitCount else { return false }
        let expected = name.utf8Start
        for offset in 0..<range.count where bytes[range.lowerBound + offset] != expected[offset] {
            return false
        }
        return true
    }

    /// Consumes a `null` and says so; anything else stays.
    private mutating func null() throws(NotTaken) -> Bool {
        guard try peek() == UInt8(ascii: "n") else { return false }
        try literal("null")
        return true
    }

    private mutating func literal(_ word: StaticString) throws(NotTaken) {
        let count = word.utf8CodeUnitCount
        guard position + count <= bytes.count else { throw NotTaken() }
        for offset in 0..<count where bytes[position + offset] != word.utf8Start[offset] {
            throw NotTaken()
        }
        position += count
    }

    private mutating func optionalString() throws(NotTaken) -> String? {
        if try null() { return nil }
        return try string()
    }

    private mutating func optionalInt() throws(NotTaken) -> Int? {
        if try null() { return nil }
        return try int()
    }

    /// An integer written as plain digits (no fraction, exponent, leading zero or `-0`), within `Int`.
    private mutating func int() throws(NotTaken) -> Int {
        var negative = false
        if try peek() == UInt8(ascii: "-") {
            negative = true
            position += 1
        }
        let start = position
        var value = 0
        while position < bytes.count, bytes[position] >= UInt8(ascii: "0"), bytes[position] <= UInt8(ascii: "9") {
            let digit = Int(bytes[position] - UInt8(ascii: "0"))
            let (times10, overflow1) = value.multipliedReportingOverflow(by: 10)
            let (sum, overflow2) = times10.addingReportingOverflow(digit)
            guard !overflow1, !overflow2 else { throw NotTaken() }
            value = sum
            position += 1
        }
        let digits = position - start
        guard digits > 0, !(bytes[start] == UInt8(ascii: "0") && (digits > 1 || negative)) else { throw NotTaken() }
        if position < bytes.count {
            switch bytes[position] {
            case UInt8(ascii: "."), UInt8(ascii: "e"), UInt8(ascii: "E"): throw NotTaken()
            default: break
            }
        }
        return negative ? -value : value
    }

    /// A string, its escapes decoded; unpaired surrogates and raw control characters are left to JSONDecoder.
    private mutating func string() throws(NotTaken) -> String {
        guard try peek() == UInt8(ascii: "\"") else { throw NotTaken() }
        position += 1
        let start = position
        // The common case: no escapes, the bytes are the string (the text is valid UTF-8 already).
        while position < bytes.count {
            let byte = bytes[position]
            if byte == UInt8(ascii: "\"") {
                defer { position += 1 }
                return String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<position]), as: UTF8.self)
            }
            if byte == UInt8(ascii: "\\") { break }
            if byte < 0x20 { throw NotTaken() }
            position += 1
        }
        guard position < bytes.count else { throw NotTaken() }
        var decoded: [UInt8] = []
        decoded.reserveCapacity(position - start + 16)
        decoded.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[start..<position]))
        while true {
            guard position < bytes.count else { throw NotTaken() }
            let byte = bytes[position]
            position += 1
            if byte == UInt8(ascii: "\"") { break }
            if byte < 0x20 { throw NotTaken() }
            guard byte == UInt8(ascii: "\\") else {
                decoded.append(byte)
                continue
            }
            do {
                try JSONEscape.decode(bytes, at: &position, into: &decoded)
            } catch {
                throw NotTaken()
            }
        }
        return String(decoding: decoded, as: UTF8.self)
    }

    /// Skips any JSON value, checking its syntax (a chunk with a malformed field anywhere is
    /// JSONDecoder's to reject).
    private mutating func skipValue() throws(NotTaken) {
        let byte = try peek()
        switch byte {
        case UInt8(ascii: "\""):
            _ = try string()
        case UInt8(ascii: "{"):
            depth += 1
            guard depth <= Self.maxDepth else { throw NotTaken() }
            position += 1
            var first = true
            while try nextKey(&first) != nil { try skipValue() }
            depth -= 1
        case UInt8(ascii: "["):
            depth += 1
            guard depth <= Self.maxDepth else { throw NotTaken() }
            position += 1
            var first = true
            while try nextElement(&first) { try skipValue() }
            depth -= 1
        case UInt8(ascii: "t"): try literal("true")
        case UInt8(ascii: "f"): try literal("false")
        case UInt8(ascii: "n"): try literal("null")
        default: try skipNumber()
        }
    }

    /// `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`
    private mutating func skipNumber() throws(NotTaken) {
        if position < bytes.count, bytes[position] == UInt8(ascii: "-") { position += 1 }
        guard position < bytes.count else { throw NotTaken() }
        if bytes[position] == UInt8(ascii: "0") {
            position += 1
        } else {
            guard try digits() > 0 else { throw NotTaken() }
        }
        if position < bytes.count, bytes[position] == UInt8(ascii: ".") {
            position += 1
            guard try digits() > 0 else { throw NotTaken() }
        }
        if position < bytes.count, bytes[position] == UInt8(ascii: "e") || bytes[position] == UInt8(ascii: "E") {
            position += 1
            if position < bytes.count, bytes[position] == UInt8(ascii: "+") || bytes[position] == UInt8(ascii: "-") {
                position += 1
            }
            guard try digits() > 0 else { throw NotTaken() }
        }
    }

    private mutating func digits() throws(NotTaken) -> Int {
        let start = position
        while position < bytes.count, bytes[position] >= UInt8(ascii: "0"), bytes[position] <= UInt8(ascii: "9") {
            position += 1
        }
        return position - start
    }
}
