import ChatBridge
import Foundation

/// One way a value fails its schema.
public struct SchemaViolation: Sendable, Equatable, CustomStringConvertible {
    /// Where in the value the problem is, e.g. `$.items[2].name` (`$` is the value itself).
    public var path: String
    /// What is wrong, phrased to follow the path: `is required`, `must be an integer (got string "2")`.
    public var message: String

    public init(path: String, message: String) {
        self.path = path
        self.message = message
    }

    /// `path message`, e.g. `$.precision must be an integer (got string "2")`.
    public var description: String { "\(path) \(message)" }
}

/// A schema that is itself malformed (not an object, an unknown `type`, a bad `pattern`, …).
public struct InvalidSchemaError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Every problem found; paths point into the schema document.
    public var problems: [SchemaViolation]

    public init(problems: [SchemaViolation]) {
        self.problems = problems
    }

    public var description: String {
        "Invalid JSON Schema: " + problems.map { "\($0.path): \($0.message)" }.joined(separator: "; ")
    }
}

/// Validates JSON values against the subset of JSON Schema that tool parameters use.
///
/// Supported keywords: `type` (one name or an array of names), `properties`, `required`,
/// `additionalProperties` (boolean or schema), `enum`, `const`, `items` (a schema, or an array of
/// schemas for tuples), `minimum`, `maximum`, `exclusiveMinimum`, `exclusiveMaximum` (numbers, or the
/// draft-4 booleans), `minLength`, `maxLength`, `pattern` (ECMA-262 without backreferences or
/// lookaround, matched in linear time: see ``SchemaPattern``), `minItems`, `maxItems`. Every other keyword
/// (`description`, `title`, `default`, `$schema`, …) is ignored, so schemas written for richer
/// validators still load; they are just checked less strictly.
///
/// Messages are written for a language model to read and correct its arguments.
public struct JSONSchemaValidator: Sendable {
    /// The `type` names JSON Schema defines.
    public static let knownTypes: Set<String> = ["string", "number", "integer", "boolean", "object", "array", "null"]

    /// Every way `value` fails `schema`, in a stable order; empty when it conforms.
    ///
    /// A schema that is not an object is treated leniently (`false` rejects everything, anything else
    /// accepts everything); use ``checkSchema(_:)`` to reject malformed schemas up front.
    public static func validate(_ value: JSONValue, against schema: JSONValue) -> [SchemaViolation] {
        var violations: [SchemaViolation] = []
        validate(value, against: schema, path: "$", into: &violations)
        return violations
    }

    /// Throws a ``ToolError`` listing every violation when `arguments` does not conform to `schema`,
    /// e.g. `Invalid arguments for tool 'calculator': $.expression is required; $.precision must be
    /// an integer (got string "2")`.
    public static func check(_ arguments: JSONValue, against schema: JSONValue, toolName: String) throws {
        let violations = validate(arguments, against: schema)
        guard !violations.isEmpty else { return }
        throw ToolError(
            "Invalid arguments for tool '\(toolName)': " + violations.map(\.description).joined(separator: "; ")
        )
    }

    /// Throws ``InvalidSchemaError`` when `schema` is not a usable schema: the root must be an object,
    /// subschemas objects or booleans, `type` names must be known, keyword values must have the right
    /// kind and every `pattern` must compile.
    public static func checkSchema(_ schema: JSONValue) throws {
        var problems: [SchemaViolation] = []
        if case .object = schema {
            checkSchema(schema, path: "$", into: &problems)
        } else {
            problems.append(SchemaViolation(path: "$", message: "a schema must be an object (got \(describe(schema)))"))
        }
        if !problems.isEmpty { throw InvalidSchemaError(problems: problems) }
    }

    // MARK: Validation

    private static func validate(_ value: JSONValue, against schema: JSONValue, path: String,
                                 into violations: inout [SchemaViolation]) {
        let keywords: [String: JSONValue]
        switch schema {
        case .object(let fields): keywords = fields
        case .bool(false):
            violations.append(SchemaViolation(path: path, message: "is not allowed"))
            return
        default: return
        }

        // A value of the wrong type makes the other keywords' complaints noise; report the type alone.
        if let type = keywords["type"], !matches(value, type: type) {
            violations.append(SchemaViolation(
                path: path, message: "must be \(typePhrase(type)) (got \(describe(value)))"
            ))
            return
        }

        if let allowed = keywords["enum"]?.arrayValue, !allowed.contains(value) {
            let list = allowed.map { render($0) }.joined(separator: ", ")
            violations.append(SchemaViolation(path: path, message: "must be one of \(list) (got \(render(value)))"))
        }
        if let constant = keywords["const"], constant != value {
            violations.append(SchemaViolation(path: path, message: "must equal \(render(constant)) (got \(render(value)))"))
        }

        switch value {
        case .number(let number):
            validateNumber(number, keywords: keywords, path: path, into: &violations)
        case .string(let string):
            validateString(string, keywords: keywords, path: path, into: &violations)
        case .array(let items):
            validateArray(items, keywords: keywords, path: path, into: &violations)
        case .object(let fields):
            validateObject(fields, keywords: keywords, path: path, into: &violations)
        case .null, .bool:
            break
        }
    }

    private static func validateNumber(_ number: Double, keywords: [String: JSONValue], path: String,
                                       into violations: inout [SchemaViolation]) {
        let got = renderNumber(number)
        // Draft 4 spelled exclusivity as booleans beside minimum/maximum; later drafts as numbers.
        let minimumIsExclusive = keywords["exclusiveMinimum"]?.boolValue == true
        let maximumIsExclusive = keywords["exclusiveMaximum"]?.boolValue == true
        if let minimum = keywords["minimum"]?.doubleValue {
            if minimumIsExclusive, number <= minimum {
                violations.append(SchemaViolation(path: path, message: "must be > \(renderNumber(minimum)) (got \(got))"))
            } else if number < minimum {
                violations.append(SchemaViolation(path: path, message: "must be >= \(renderNumber(minimum)) (got \(got))"))
            }
        }
        if let maximum = keywords["maximum"]?.doubleValue {
            if maximumIsExclusive, number >= maximum {
                violations.append(SchemaViolation(path: path, message: "must be < \(renderNumber(maximum)) (got \(got))"))
            } else if number > maximum {
                violations.append(SchemaViolation(path: path, message: "must be <= \(renderNumber(maximum)) (got \(got))"))
            }
        }
        if let bound = keywords["exclusiveMinimum"]?.doubleValue, number <= bound {
            violations.append(SchemaViolation(path: path, message: "must be > \(renderNumber(bound)) (got \(got))"))
        }
        if let bound = keywords["exclusiveMaximum"]?.doubleValue, number >= bound {
            violations.append(SchemaViolation(path: path, message: "must be < \(renderNumber(bound)) (got \(got))"))
        }
    }

    private static func validateString(_ string: String, keywords: [String: JSONValue], path: String,
                                       into violations: inout [SchemaViolation]) {
        // JSON Schema counts length in Unicode code points (RFC 8259 characters), not UTF-16 units
        // or grapheme clusters.
        let length = string.unicodeScalars.count
        if let minimum = keywords["minLength"]?.intValue, length < minimum {
            violations.append(SchemaViolation(
                path: path, message: "must be at least \(characters(minimum)) long (got \(characters(length)))"
            ))
        }
        if let maximum = keywords["maxLength"]?.intValue, length > maximum {
            violations.append(SchemaViolation(
                path: path, message: "must be at most \(characters(maximum)) long (got \(characters(length)))"
            ))
        }
        if let pattern = keywords["pattern"]?.stringValue {
            // SchemaPattern matches in time linear in the string, whatever the pattern (no ReDoS).
            guard let regex = try? SchemaPattern(pattern) else {
                violations.append(SchemaViolation(
                    path: path, message: "cannot be checked: the schema's pattern \(render(.string(pattern))) is not a supported regular expression"
                ))
                return
            }
            // JSON Schema patterns are not implicitly anchored: a match anywhere in the string counts.
            if !regex.matches(string) {
                violations.append(SchemaViolation(
                    path: path, message: "must match the pattern \(pattern) (got \(render(.string(string))))"
                ))
            }
        }
    }

    private static func validateArray(_ items: [JSONValue], keywords: [String: JSONValue], path: String,
                                      into violations: inout [SchemaViolation]) {
        if let minimum = keywords["minItems"]?.intValue, items.count < minimum {
            violations.append(SchemaViolation(path: path, message: "must have at least \(itemCount(minimum)) (got \(items.count))"))
        }
        if let maximum = keywords["maxItems"]?.intValue, items.count > maximum {
            violations.append(SchemaViolation(path: path, message: "must have at most \(itemCount(maximum)) (got \(items.count))"))
        }
        switch keywords["items"] {
        case .array(let tuple)?:
            for (index, item) in items.enumerated() where index < tuple.count {
                validate(item, against: tuple[index], path: "\(path)[\(index)]", into: &violations)
            }
        case let itemSchema?:
            for (index, item) in items.enumerated() {
                validate(item, against: itemSchema, path: "\(path)[\(index)]", into: &violations)
            }
        case nil:
            break
        }
    }

    private static func validateObject(_ fields: [String: JSONValue], keywords: [String: JSONValue], path: String,
                                       into violations: inout [SchemaViolation]) {
        let properties = keywords["properties"]?.objectValue ?? [:]
        for case .string(let name) in keywords["required"]?.arrayValue ?? [] where fields[name] == nil {
            violations.append(SchemaViolation(path: member(name, of: path), message: "is required"))
        }
        // Sorted so the same arguments always produce the same message.
        for name in fields.keys.sorted() {
            guard let value = fields[name] else { continue }
            let memberPath = member(name, of: path)
            if let propertySchema = properties[name] {
                validate(value, against: propertySchema, path: memberPath, into: &violations)
                continue
            }
            switch keywords["additionalProperties"] {
            case .bool(false)?:
                let allowed = properties.keys.sorted()
                let hint = allowed.isEmpty ? "no properties are allowed here" : "allowed: \(allowed.joined(separator: ", "))"
                violations.append(SchemaViolation(path: memberPath, message: "is not an allowed property (\(hint))"))
            case let extraSchema?:
                validate(value, against: extraSchema, path: memberPath, into: &violations)
            case nil:
                break
            }
        }
    }

    private static func matches(_ value: JSONValue, type: JSONValue) -> Bool {
        switch type {
        case .string(let name): return matches(value, typeName: name)
        case .array(let names): return names.contains { $0.stringValue.map { matches(value, typeName: $0) } ?? false }
        default: return true  // A malformed `type` is checkSchema's business, not the value's fault.
        }
    }

    private static func matches(_ value: JSONValue, typeName: String) -> Bool {
        switch (typeName, value) {
        case ("null", .null), ("boolean", .bool), ("number", .number), ("string", .string),
             ("array", .array), ("object", .object):
            return true
        case ("integer", .number(let number)):
            // A JSON number with no fractional part is an integer, whatever its spelling (2, 2.0, 2e0).
            return number.isFinite && number == number.rounded()
        default:
            return !knownTypes.contains(typeName)  // Unknown names never reject (see checkSchema).
        }
    }

    // MARK: Checking schemas

    private static func checkSchema(_ schema: JSONValue, path: String, into problems: inout [SchemaViolation]) {
        let keywords: [String: JSONValue]
        switch schema {
        case .object(let fields): keywords = fields
        case .bool: return
        default:
            problems.append(SchemaViolation(path: path, message: "a schema must be an object or a boolean (got \(describe(schema)))"))
            return
        }

        if let type = keywords["type"] {
            let typePath = member("type", of: path)
            switch type {
            case .string(let name):
                if !knownTypes.contains(name) { problems.append(unknownType(name, path: typePath)) }
            case .array(let names) where !names.isEmpty:
                for name in names {
                    guard case .string(let name) = name else {
                        problems.append(SchemaViolation(path: typePath, message: "must list type names as strings"))
                        continue
                    }
                    if !knownTypes.contains(name) { problems.append(unknownType(name, path: typePath)) }
                }
            default:
                problems.append(SchemaViolation(path: typePath, message: "must be a type name or a non-empty array of type names"))
            }
        }

        if let properties = keywords["properties"] {
            if case .object(let members) = properties {
                for name in members.keys.sorted() {
                    if let subschema = members[name] {
                        checkSchema(subschema, path: member(name, of: member("properties", of: path)), into: &problems)
                    }
                }
            } else {
                problems.append(SchemaViolation(path: member("properties", of: path), message: "must be an object of schemas"))
            }
        }

        if let required = keywords["required"] {
            let names = required.arrayValue ?? []
            if required.arrayValue == nil || names.contains(where: { $0.stringValue == nil }) {
                problems.append(SchemaViolation(path: member("required", of: path), message: "must be an array of property names"))
            }
        }

        if let additional = keywords["additionalProperties"] {
            checkSchema(additional, path: member("additionalProperties", of: path), into: &problems)
        }

        if let items = keywords["items"] {
            if case .array(let tuple) = items {
                for (index, subschema) in tuple.enumerated() {
                    checkSchema(subschema, path: "\(member("items", of: path))[\(index)]", into: &problems)
                }
            } else {
                checkSchema(items, path: member("items", of: path), into: &problems)
            }
        }

        if let allowed = keywords["enum"], (allowed.arrayValue ?? []).isEmpty {
            problems.append(SchemaViolation(path: member("enum", of: path), message: "must be a non-empty array"))
        }

        for keyword in ["minimum", "maximum"] where keywords[keyword] != nil && keywords[keyword]?.doubleValue == nil {
            problems.append(SchemaViolation(path: member(keyword, of: path), message: "must be a number"))
        }
        for keyword in ["exclusiveMinimum", "exclusiveMaximum"] {
            switch keywords[keyword] {
            case nil, .number?, .bool?: break
            default: problems.append(SchemaViolation(path: member(keyword, of: path), message: "must be a number"))
            }
        }
        for keyword in ["minLength", "maxLength", "minItems", "maxItems"] {
            guard let bound = keywords[keyword] else { continue }
            if (bound.intValue ?? -1) < 0 {
                problems.append(SchemaViolation(path: member(keyword, of: path), message: "must be a non-negative integer"))
            }
        }

        if let pattern = keywords["pattern"] {
            if case .string(let text) = pattern {
                do {
                    _ = try SchemaPattern(text)
                } catch {
                    problems.append(SchemaViolation(path: member("pattern", of: path),
                                                    message: "is not a valid regular expression: \(text): \(error)"))
                }
            } else {
                problems.append(SchemaViolation(path: member("pattern", of: path), message: "must be a string"))
            }
        }
    }

    private static func unknownType(_ name: String, path: String) -> SchemaViolation {
        SchemaViolation(
            path: path,
            message: "unknown type '\(name)' (known types: \(knownTypes.sorted().joined(separator: ", ")))"
        )
    }

    // MARK: Wording

    /// `$.name` for identifier-like keys, `$["odd key"]` otherwise, so paths stay unambiguous.
    static func member(_ name: String, of path: String) -> String {
        let isIdentifier = !name.isEmpty
            && name.unicodeScalars.allSatisfy { $0.isASCII && (CharacterSet.alphanumerics.contains($0) || $0 == "_") }
            && !(name.unicodeScalars.first.map { CharacterSet.decimalDigits.contains($0) } ?? true)
        return isIdentifier ? "\(path).\(name)" : "\(path)[\(JSONValue.string(name).serializedString)]"
    }

    private static func typePhrase(_ type: JSONValue) -> String {
        let names: [String]
        switch type {
        case .string(let name): names = [name]
        case .array(let list): names = list.compactMap(\.stringValue)
        default: names = []
        }
        let phrases = names.map { name -> String in
            switch name {
            case "null": "null"
            case "integer", "object", "array": "an \(name)"
            default: "a \(name)"
            }
        }
        switch phrases.count {
        case 0: return "of a valid type"
        case 1: return phrases[0]
        default: return phrases.dropLast().joined(separator: ", ") + " or " + (phrases.last ?? "")
        }
    }

    /// The kind and (short) literal of a value: `string "2"`, `integer 3`, `object`.
    static func describe(_ value: JSONValue) -> String {
        switch value {
        case .null: "null"
        case .bool(let flag): "boolean \(flag)"
        case .number: "\(value.typeName) \(render(value))"
        case .string: "string \(render(value))"
        case .array(let items): "array of \(itemCount(items.count))"
        case .object: "object"
        }
    }

    /// Compact JSON of a value, cut short so one huge argument cannot flood the message.
    static func render(_ value: JSONValue) -> String {
        let text = value.serializedString
        let limit = 80
        guard text.count > limit else { return text }
        return String(text.prefix(limit)) + "…"
    }

    private static func renderNumber(_ number: Double) -> String {
        JSONValue.number(number).serializedString
    }

    private static func characters(_ count: Int) -> String {
        count == 1 ? "1 character" : "\(count) characters"
    }

    private static func itemCount(_ count: Int) -> String {
        count == 1 ? "1 item" : "\(count) items"
    }
}
