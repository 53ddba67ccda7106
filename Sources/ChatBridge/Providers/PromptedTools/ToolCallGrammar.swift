/// A GBNF grammar (llama.cpp's constrained decoding) for one prompted step: either a plain answer,
/// or one or more call objects `{"name": …, "arguments": …}`, one per line, each naming one of
/// the tools with arguments that match its JSON Schema. A small model held to it cannot write a
/// malformed call.
///
/// The schema subset turned into rules: `type` (one or several), `enum`, `const`, `properties`
/// with `required` (required properties first, in schema order, then any optional ones),
/// `items`, `anyOf`/`oneOf`. Anything else accepts any JSON value of its place; the schema
/// validator still checks the arguments after the step.
public enum ToolCallGrammar {
    /// The grammar for `tools` under `choice`; `nil` when nothing is to be constrained.
    public static func gbnf(for tools: [ToolDefinition], choice: ToolChoice) -> String? {
        guard !tools.isEmpty else { return nil }
        var builder = Builder()
        let offered: [(Int, ToolDefinition)]
        switch choice {
        case .none: return nil
        case .tool(let name):
            offered = tools.enumerated().filter { $0.element.name == name }.map { ($0.offset, $0.element) }
            guard !offered.isEmpty else { return nil }
        case .auto, .required:
            offered = tools.enumerated().map { ($0.offset, $0.element) }
        }
        var callRules: [String] = []
        for (index, tool) in offered {
            let name = "tool\(index)"
            let arguments = builder.rule(for: tool.parameters, name: name + "-args", depth: 0)
            builder.define(name, #""{" ws "\"name\"" ws ":" ws "# + literal(JSONValue.string(tool.name).serializedString)
                + #" ws "," ws "\"arguments\"" ws ":" ws "# + arguments + #" ws "}""#)
            callRules.append(name)
        }
        // Calls are bare objects, one per line: Qwen-family models write `<tool_call>` as a special
        // token that llama.cpp leaves out of the text, so the grammar cannot ask for the tag.
        builder.define("call", callRules.joined(separator: " | "))
        builder.define("calls", #"call ("\n" call)*"#)
        // The answer may not begin with whitespace, "{" or "<", nor contain "<t", so the only way
        // to call a tool is a well-formed call.
        builder.define("answer", #"[^<{\x00 \t\n] ([^<\x00] | "<" [^t\x00])*"#)
        let root = choice == .auto ? "answer | calls" : "calls"
        return "root ::= \(root)\n" + builder.definitions.joined(separator: "\n") + "\n" + primitives
    }

    static let primitives = #"""
        ws ::= [ \t\n]? [ \t\n]?
        nl ::= "\n"?
        value ::= object | array | string | number | boolean | null
        object ::= "{" ws ( string ws ":" ws value ( ws "," ws string ws ":" ws value )* )? ws "}"
        array ::= "[" ws ( value ( ws "," ws value )* )? ws "]"
        string ::= "\"" ( [^"\\\x7F\x00-\x1F] | "\\" ( ["\\/bfnrt] | "u" [0-9a-fA-F] [0-9a-fA-F] [0-9a-fA-F] [0-9a-fA-F] ) )* "\""
        number ::= integer ( "." [0-9]+ )? ( [eE] [-+]? [0-9]+ )?
        integer ::= "-"? ( "0" | [1-9] [0-9]* )
        boolean ::= "true" | "false"
        null ::= "null"
        """#

    /// A GBNF string literal matching `text` exactly.
    static func literal(_ text: String) -> String {
        var result = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": result += "\\\""
            case "\\": result += "\\\\"
            case "\n": result += "\\n"
            case "\r": result += "\\r"
            case "\t": result += "\\t"
            default: result.unicodeScalars.append(scalar)
            }
        }
        return result + "\""
    }

    private struct Builder {
        var definitions: [String] = []
        static let maxDepth = 8

        mutating func define(_ name: String, _ body: String) {
            definitions.append("\(name) ::= \(body)")
        }

        /// The name of a rule matching `schema` (a primitive's name, or a new rule called `name`).
        mutating func rule(for schema: JSONValue, name: String, depth: Int) -> String {
            guard depth < Self.maxDepth, case .object(let fields) = schema else { return "value" }
            if case .array(let values)? = fields["enum"], !values.isEmpty {
                define(name, values.map { literal($0.serializedString) }.joined(separator: " | "))
                return name
            }
            if let constant = fields["const"] {
                define(name, literal(constant.serializedString))
                return name
            }
            if case .array(let options)? = fields["anyOf"] ?? fields["oneOf"], !options.isEmpty {
                let alternatives = options.enumerated().map { rule(for: $0.element, name: "\(name)-\($0.offset)", depth: depth + 1) }
                define(name, alternatives.joined(separator: " | "))
                return name
            }
            switch fields["type"] {
            case .string(let type)?:
                return rule(type: type, fields: fields, name: name, depth: depth)
            case .array(let types)?:
                let alternatives = types.compactMap(\.stringValue).enumerated().map {
                    rule(type: $0.element, fields: fields, name: "\(name)-\($0.offset)", depth: depth)
                }
                guard !alternatives.isEmpty else { return "value" }
                define(name, alternatives.joined(separator: " | "))
                return name
            default:
                return fields["properties"] != nil ? rule(type: "object", fields: fields, name: name, depth: depth) : "value"
            }
        }

        private mutating func rule(type: String, fields: [String: JSONValue], name: String, depth: Int) -> String {
            switch type {
            case "string": return "string"
            case "number": return "number"
            case "integer": return "integer"
            case "boolean": return "boolean"
            case "null": return "null"
            case "array":
                guard let items = fields["items"] else { return "array" }
                let item = rule(for: items, name: name + "-item", depth: depth + 1)
                define(name, #""[" ws ( "# + item + #" ( ws "," ws "# + item + #" )* )? ws "]""#)
                return name
            case "object":
                guard case .object(let properties)? = fields["properties"], !properties.isEmpty else { return "object" }
                let required = Set((fields["required"]?.arrayValue ?? []).compactMap(\.stringValue))
                // Dictionary order is not the schema's; sorted names keep the grammar stable per tool set.
                let names = properties.keys.sorted()
                var pairs: [String: String] = [:]
                for (offset, key) in names.enumerated() {
                    let value = rule(for: properties[key]!, name: "\(name)-p\(offset)", depth: depth + 1)
                    pairs[key] = literal(JSONValue.string(key).serializedString) + #" ws ":" ws "# + value
                }
                let requiredPairs = names.filter(required.contains).map { pairs[$0]! }
                let optional = names.filter { !required.contains($0) }.map { pairs[$0]! }
                var body = #""{" ws "#
                if !requiredPairs.isEmpty {
                    body += requiredPairs.joined(separator: #" ws "," ws "#)
                    if !optional.isEmpty {
                        define(name + "-opt", optional.joined(separator: " | "))
                        body += #" ( ws "," ws "# + name + "-opt )*"
                    }
                } else if !optional.isEmpty {
                    define(name + "-opt", optional.joined(separator: " | "))
                    body += "( \(name)-opt ( ws \",\" ws \(name)-opt )* )?"
                }
                body += #" ws "}""#
                define(name, body)
                return name
            default:
                return "value"
            }
        }
    }
}
