import Foundation

/// A tool call read from a model's text in prompted mode.
///
/// `arguments` is canonical JSON when the call could be read; when it could not, it is the raw
/// text the model wrote, which the agent engine rejects as invalid JSON and returns to the model
/// as an error result, so the model can correct itself (PROTOCOL §5).
public struct PromptedToolCall: Sendable, Equatable {
    public var name: String
    public var arguments: String

    public init(name: String, arguments: String) {
        self.name = name
        self.arguments = arguments
    }
}

/// Splits a model's streamed text into answer text and tool calls.
///
/// Calls are recognised in the forms small models actually write (recorded from Qwen2.5-Coder
/// under llama.cpp, whose detokenizer drops the special `<tool_call>` tokens):
/// - `<tool_call>{"name": …, "arguments": …}</tool_call>` (also without the closing tag, several
///   objects or an array in one block);
/// - a bare `{"name": …, "arguments": …}` object starting a line;
/// - either of these inside a Markdown code fence (```` ```json ````).
/// Reading is tolerant (trailing commas, single quotes, unquoted keys, a cut-off object,
/// `parameters` for `arguments`, arguments as a JSON string).
///
/// Text streams through as it arrives except what may be the start of a call: a suffix that may
/// begin a tag, a `{` or a fence at the start of a line until it proves not to be a call. Once
/// the step has called a tool, later text is dropped: a model that has called a tool should stop
/// and wait for the result, and what it writes instead is an invented result (a `<tool_response>`
/// written by the model also ends the step's text). So a step that calls tools streams no text
/// after its first call, as in native mode.
public struct ToolCallStreamParser: Sendable {
    public enum Output: Sendable, Equatable {
        case text(String)
        case call(PromptedToolCall)
    }

    static let openTag = "<tool_call>"
    static let closeTag = "</tool_call>"
    static let responseTag = "<tool_response>"
    static let fence = "```"
    /// Fence languages whose content may be a call; others are code, passed on as text.
    static let callFenceLanguages: Set<String> = ["", "json", "json5", "tool_call", "xml", "javascript", "js"]

    private enum State {
        /// Passing text on; `buffer` holds what may start a call.
        case text
        /// Inside `<tool_call>`; `buffer` is the body so far.
        case tagged
        /// A `{` began a line; `buffer` is the object so far.
        case object
        /// A fence began a line; `buffer` is the fence so far, from its first backtick.
        case fenced
        /// The model began writing a tool result itself: the rest is dropped.
        case discarding
    }

    private var state = State.text
    private var buffer = ""
    private var heldWhitespace = ""
    /// Whether the start of `buffer` (in the text state) is at the start of a line.
    private var atLineStart = true
    /// Inside a code fence that was passed on as text (its `{` and fences are code, not calls).
    private var inCodeBlock = false
    /// Calls read so far.
    public private(set) var callCount = 0

    public init() {}

    /// Reads the next piece of the model's text.
    public mutating func feed(_ piece: String) -> [Output] {
        var output: [Output] = []
        buffer += piece
        scan(into: &output)
        return output
    }

    /// Ends the stream: a call left open is read as if closed, held text is released.
    public mutating func finish() -> [Output] {
        var output: [Output] = []
        scan(into: &output)
        switch state {
        case .text: emitText(buffer, into: &output)
        case .tagged: readTagged(buffer, into: &output)
        case .object, .fenced: readUntagged(buffer, into: &output)
        case .discarding: break
        }
        buffer = ""
        state = .text
        if callCount == 0, !heldWhitespace.isEmpty { output.append(.text(heldWhitespace)) }
        heldWhitespace = ""
        return output
    }

    private mutating func scan(into output: inout [Output]) {
        while true {
            switch state {
            case .discarding:
                buffer = ""
                return
            case .text:
                guard scanText(into: &output) else { return }
            case .tagged:
                let close = buffer.range(of: Self.closeTag)
                let reopen = buffer.range(of: Self.openTag)
                if let close, reopen.map({ close.lowerBound < $0.lowerBound }) ?? true {
                    readTagged(buffer[..<close.lowerBound], into: &output)
                    buffer = String(buffer[close.upperBound...])
                    state = .text
                    atLineStart = false
                    continue
                }
                if let reopen {
                    // A new call began before this one was closed: the model forgot the closing tag.
                    readTagged(buffer[..<reopen.lowerBound], into: &output)
                    buffer = String(buffer[reopen.upperBound...])
                    continue
                }
                return
            case .object:
                guard let first = buffer.dropFirst().first(where: { !$0.isWhitespace }) else { return }
                if !(first == "\"" || first == "'" || first == "}" || first == "_" || first.isLetter) {
                    // `{` followed by something no JSON object has: prose or code, not a call.
                    passOnAsText(upTo: buffer.index(after: buffer.startIndex), into: &output)
                    continue
                }
                guard let end = Self.endOfObject(buffer) else { return }
                readUntagged(buffer[..<end], into: &output)
                buffer = String(buffer[end...])
                state = .text
                atLineStart = false
            case .fenced:
                guard let newline = buffer.firstIndex(of: "\n") else {
                    if buffer.count > 40 { passOnAsText(upTo: buffer.endIndex, into: &output) }  // not a fence line
                    return
                }
                let language = buffer[buffer.index(buffer.startIndex, offsetBy: 3)..<newline]
                    .trimmingCharacters(in: .whitespaces).lowercased()
                if !Self.callFenceLanguages.contains(language) {
                    inCodeBlock = true
                    passOnAsText(upTo: buffer.index(after: newline), into: &output)
                    atLineStart = true
                    continue
                }
                guard let close = buffer.range(of: "\n" + Self.fence, range: newline..<buffer.endIndex) else { return }
                let lineEnd = buffer[close.upperBound...].firstIndex(of: "\n") ?? buffer.endIndex
                readUntagged(buffer[..<lineEnd], into: &output)
                buffer = String(buffer[lineEnd...])
                state = .text
                atLineStart = false
            }
        }
    }

    /// Passes text on up to the next possible call; returns whether the state changed.
    private mutating func scanText(into output: inout [Output]) -> Bool {
        var index = buffer.startIndex
        var lineStart = atLineStart
        while index < buffer.endIndex {
            let character = buffer[index]
            let rest = buffer[index...]
            var next: State?
            var holdFrom: String.Index?
            if character == "<" {
                if rest.hasPrefix(Self.openTag) {
                    next = .tagged
                } else if rest.hasPrefix(Self.responseTag) {
                    next = .discarding
                } else if Self.openTag.hasPrefix(rest) || Self.responseTag.hasPrefix(rest) {
                    holdFrom = index
                }
            } else if lineStart, character == "`" {
                if rest.hasPrefix(Self.fence) {
                    if inCodeBlock {
                        inCodeBlock = false
                    } else {
                        next = .fenced
                    }
                } else if Self.fence.hasPrefix(rest) {
                    holdFrom = index
                }
            } else if lineStart, character == "{", !inCodeBlock {
                next = .object
            }
            if let holdFrom {
                emitText(buffer[..<holdFrom], into: &output)
                buffer = String(buffer[holdFrom...])
                atLineStart = lineStart
                return false
            }
            if let next {
                emitText(buffer[..<index], into: &output)
                switch next {
                case .tagged: buffer = String(buffer[index...].dropFirst(Self.openTag.count))
                default: buffer = String(buffer[index...])
                }
                if next != .fenced, next != .object { heldWhitespace = "" }
                state = next
                return true
            }
            if character == "\n" {
                lineStart = true
            } else if character != " " && character != "\t" {
                lineStart = false
            }
            index = buffer.index(after: index)
        }
        emitText(buffer, into: &output)
        buffer = ""
        atLineStart = lineStart
        return false
    }

    /// Gives up on a possible call: its first `count` characters are text after all.
    private mutating func passOnAsText(upTo end: String.Index, into output: inout [Output]) {
        emitText(buffer[..<end], into: &output)
        buffer = String(buffer[end...])
        state = .text
        atLineStart = false
    }

    /// Passes text on, holding whitespace until it is clear it does not merely precede a call.
    /// After a call nothing is passed on (see the type's documentation).
    private mutating func emitText(_ text: some StringProtocol, into output: inout [Output]) {
        guard !text.isEmpty, callCount == 0 else { return }
        let body = text.reversed().drop(while: \.isWhitespace)
        guard !body.isEmpty else {
            heldWhitespace += text
            return
        }
        let trailing = text.count - body.count
        output.append(.text(heldWhitespace + String(text.dropLast(trailing))))
        heldWhitespace = String(text.suffix(trailing))
    }

    /// The index after the `}` closing the object `text` begins with, or `nil` if it is still open.
    static func endOfObject(_ text: String) -> String.Index? {
        var depth = 0
        var quote: Character?
        var escaped = false
        var index = text.startIndex
        while index < text.endIndex {
            let character = text[index]
            index = text.index(after: index)
            if let open = quote {
                if escaped { escaped = false } else if character == "\\" { escaped = true } else if character == open { quote = nil }
                continue
            }
            switch character {
            case "\"", "'": quote = character
            case "{", "[": depth += 1
            case "}", "]":
                depth -= 1
                if depth == 0 { return index }
            default: break
            }
        }
        return nil
    }

    /// The calls of one `<tool_call>` body; a body that cannot be read is still a call, whose
    /// raw text the engine returns to the model as invalid arguments.
    private mutating func readTagged(_ body: some StringProtocol, into output: inout [Output]) {
        let text = Self.strippingFences(String(body))
        if let calls = Self.calls(in: text, requireArguments: false), !calls.isEmpty {
            for call in calls { append(call, into: &output) }
        } else {
            append(PromptedToolCall(name: Self.scanName(text) ?? "", arguments: text), into: &output)
        }
    }

    /// A bare or fenced object: calls if it is made of call objects, else text.
    private mutating func readUntagged(_ text: some StringProtocol, into output: inout [Output]) {
        var content = Self.strippingFences(String(text))
        if let response = content.range(of: Self.responseTag) { content = String(content[..<response.lowerBound]) }
        content = content.replacingOccurrences(of: Self.openTag, with: "").replacingOccurrences(of: Self.closeTag, with: "\n")
        if let calls = Self.calls(in: content, requireArguments: true), !calls.isEmpty {
            heldWhitespace = ""
            for call in calls { append(call, into: &output) }
        } else {
            emitText(text, into: &output)
            atLineStart = false
        }
    }

    private mutating func append(_ call: PromptedToolCall, into output: inout [Output]) {
        callCount += 1
        output.append(.call(call))
    }

    /// The calls in `text`: one or more call objects (or arrays of them) one after another;
    /// `nil` if anything in it is not a call object.
    static func calls(in text: String, requireArguments: Bool) -> [PromptedToolCall]? {
        var rest = Substring(text)
        var calls: [PromptedToolCall] = []
        while !rest.allSatisfy({ $0.isWhitespace || $0 == "," }) {
            guard let (value, after) = try? LenientJSON.parseValue(rest.drop { $0.isWhitespace || $0 == "," }) else { return nil }
            for object in value.arrayValue ?? [value] {
                if requireArguments, object["arguments"] == nil, object["parameters"] == nil, object["function"]?["arguments"] == nil {
                    return nil
                }
                guard let call = call(from: object) else { return nil }
                calls.append(call)
            }
            rest = after
        }
        return calls
    }

    /// The call an object describes: `{"name", "arguments"}`, `{"function": {"name", "arguments"}}`, or aliases.
    static func call(from value: JSONValue) -> PromptedToolCall? {
        guard case .object(var fields) = value else { return nil }
        if case .object(let function)? = fields["function"] { fields.merge(function) { _, inner in inner } }
        guard let name = (fields["name"] ?? fields["tool"] ?? fields["function"] ?? fields["tool_name"])?.stringValue else { return nil }
        var arguments = fields["arguments"] ?? fields["parameters"] ?? fields["args"] ?? fields["input"] ?? .object([:])
        if case .string(let text) = arguments {
            // OpenAI's own format carries arguments as a JSON string; a model copying it is understood.
            guard let parsed = try? LenientJSON.parse(text) else {
                return PromptedToolCall(name: name, arguments: text)
            }
            arguments = parsed
        }
        if arguments == .null { arguments = .object([:]) }
        return PromptedToolCall(name: name, arguments: arguments.serializedString)
    }

    /// The tool name of a call too broken to read, so the error names the tool.
    static func scanName(_ text: String) -> String? {
        guard let key = text.range(of: #"["']?name["']?\s*:\s*["']([A-Za-z0-9_.\-]+)["']"#, options: .regularExpression) else { return nil }
        let match = text[key]
        guard let colon = match.firstIndex(of: ":") else { return nil }
        return match[match.index(after: colon)...].trimmingCharacters(in: CharacterSet(charactersIn: " \t\n\"'"))
    }

    /// The text inside a Markdown code fence (```json … ```), or the text itself.
    static func strippingFences(_ text: String) -> String {
        var lines = text.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: "\n", omittingEmptySubsequences: false)
        if let first = lines.first, first.hasPrefix(fence) {
            let rest = first.dropFirst(3)
            lines.removeFirst()
            // "```json {…}" on one line keeps what follows the language word.
            if let space = rest.firstIndex(where: \.isWhitespace) {
                lines.insert(rest[space...], at: 0)
            } else if rest.hasPrefix("{") || rest.hasPrefix("[") || rest.hasPrefix("<") {
                lines.insert(rest, at: 0)
            }
        }
        if let last = lines.last, last.trimmingCharacters(in: .whitespaces).hasSuffix(fence) {
            let trimmed = last.trimmingCharacters(in: .whitespaces)
            lines.removeLast()
            let before = trimmed.dropLast(3)
            if !before.isEmpty { lines.append(Substring(before)) }
        }
        return lines.joined(separator: "\n").trimmingCharacters(in: .whitespacesAndNewlines)
    }
}
