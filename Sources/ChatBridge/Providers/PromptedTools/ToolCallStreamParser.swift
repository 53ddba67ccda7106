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

/// Splits a model's streamed text into answer text and `<tool_call>{…}</tool_call>` calls.
///
/// Text is passed on as soon as it cannot be the start of a call: only a suffix that is a prefix
/// of `<tool_call>` is held back. A call is read when its closing tag arrives (or a new opening
/// tag, or the end of the stream), tolerantly: code fences, trailing commas, single quotes,
/// unquoted keys, a cut-off object, an array of calls, `parameters` for `arguments`, arguments
/// as a JSON string. Whitespace between calls is dropped, so a step that only calls tools
/// produces no text, as in native mode. An answer that starts with `{` or a code fence is held
/// until the end, because small models often write a bare `{"name":…,"arguments":…}` call.
public struct ToolCallStreamParser: Sendable {
    public enum Output: Sendable, Equatable {
        case text(String)
        case call(PromptedToolCall)
    }

    static let openTag = "<tool_call>"
    static let closeTag = "</tool_call>"

    private enum State {
        /// Passing text on; `buffer` holds what may be the start of `<tool_call>`.
        case text
        /// Inside `<tool_call>`; `buffer` is the call's body so far.
        case call
        /// The answer began with `{` or a fence: everything is held until the end.
        case bare
    }

    private var state = State.text
    private var buffer = ""
    private var heldWhitespace = ""
    private var sawText = false
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
        switch state {
        case .text:
            emitText(buffer, into: &output)
        case .call:
            readCalls(body: buffer, into: &output)
        case .bare:
            readBare(buffer, into: &output)
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
            case .bare:
                return
            case .text:
                if !sawText, callCount == 0, let first = buffer.first(where: { !$0.isWhitespace }), first == "{" || first == "`" {
                    state = .bare
                    return
                }
                if let open = buffer.range(of: Self.openTag) {
                    emitText(buffer[..<open.lowerBound], into: &output)
                    heldWhitespace = ""
                    buffer = String(buffer[open.upperBound...])
                    state = .call
                    continue
                }
                let held = Self.partialTagLength(at: buffer, tag: Self.openTag)
                emitText(buffer.dropLast(held), into: &output)
                buffer = String(buffer.suffix(held))
                return
            case .call:
                let close = buffer.range(of: Self.closeTag)
                let reopen = buffer.range(of: Self.openTag)
                if let close, reopen.map({ close.lowerBound < $0.lowerBound }) ?? true {
                    readCalls(body: buffer[..<close.lowerBound], into: &output)
                    buffer = String(buffer[close.upperBound...])
                    state = .text
                    continue
                }
                if let reopen {
                    // A new call began before this one was closed: the model forgot the closing tag.
                    readCalls(body: buffer[..<reopen.lowerBound], into: &output)
                    buffer = String(buffer[reopen.upperBound...])
                    continue
                }
                return
            }
        }
    }

    /// Passes text on, holding whitespace-only pieces until it is clear they are not between calls.
    private mutating func emitText(_ text: some StringProtocol, into output: inout [Output]) {
        guard !text.isEmpty else { return }
        if text.allSatisfy(\.isWhitespace) {
            heldWhitespace += text
            return
        }
        output.append(.text(heldWhitespace + text))
        heldWhitespace = ""
        sawText = true
    }

    /// The length of the longest suffix of `text` that is a proper prefix of `tag`.
    static func partialTagLength(at text: String, tag: String) -> Int {
        let tagCharacters = Array(tag)
        let tail = Array(text.suffix(tagCharacters.count - 1))
        var length = min(tail.count, tagCharacters.count - 1)
        while length > 0 {
            if Array(tail.suffix(length)) == Array(tagCharacters.prefix(length)) { return length }
            length -= 1
        }
        return 0
    }

    /// Reads the calls of one `<tool_call>` body (one object, several objects, or an array).
    private mutating func readCalls(body: some StringProtocol, into output: inout [Output]) {
        let text = Self.strippingFences(String(body))
        guard !text.isEmpty else {
            append(PromptedToolCall(name: "", arguments: ""), into: &output)
            return
        }
        var rest = Substring(text)
        var calls: [PromptedToolCall] = []
        do {
            while !rest.allSatisfy(\.isWhitespace) {
                let (value, after) = try LenientJSON.parseValue(rest)
                let objects = value.arrayValue ?? [value]
                for object in objects {
                    guard let call = Self.call(from: object) else { throw LenientJSON.Failure(description: "not a call object") }
                    calls.append(call)
                }
                rest = after.drop { $0.isWhitespace || $0 == "," }
            }
        } catch {
            calls = [PromptedToolCall(name: Self.scanName(text) ?? "", arguments: text)]
        }
        for call in calls { append(call, into: &output) }
    }

    private mutating func append(_ call: PromptedToolCall, into output: inout [Output]) {
        callCount += 1
        output.append(.call(call))
    }

    /// A whole held answer: calls if it is one (possibly fenced) call object or array, else text.
    private mutating func readBare(_ text: String, into output: inout [Output]) {
        let stripped = Self.strippingFences(text)
        if stripped.contains(Self.openTag) {
            var inner = ToolCallStreamParser()
            inner.sawText = true  // never bare again
            let outputs = inner.feed(stripped) + inner.finish()
            for item in outputs {
                if case .call = item { callCount += 1 }
                output.append(item)
            }
            return
        }
        if let value = try? LenientJSON.parse(stripped) {
            let objects = value.arrayValue ?? [value]
            let calls = objects.compactMap(Self.call(from:))
            if !calls.isEmpty, calls.count == objects.count, objects.allSatisfy({ $0["arguments"] != nil || $0["parameters"] != nil }) {
                for call in calls { append(call, into: &output) }
                return
            }
        }
        emitText(text, into: &output)
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
        if let first = lines.first, first.hasPrefix("```") {
            let rest = first.dropFirst(3)
            lines.removeFirst()
            // "```json {…}" on one line keeps what follows the language word.
            if let space = rest.firstIndex(where: \.isWhitespace) {
                lines.insert(rest[space...], at: 0)
            } else if rest.hasPrefix("{") || rest.hasPrefix("[") || rest.hasPrefix("<") {
                lines.insert(rest, at: 0)
            }
        }
        if let last = lines.last, last.trimmingCharacters(in: .whitespaces).hasSuffix("```") {
            let trimmed = last.trimmingCharacters(in: .whitespaces)
            lines.removeLast()
            let before = trimmed.dropLast(3)
            if !before.isEmpty { lines.append(Substring(before)) }
        }
        return lines.joined(separator: "\n").trimmingCharacters(in: .whitespacesAndNewlines)
    }
}
