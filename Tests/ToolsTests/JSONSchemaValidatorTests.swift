import ChatBridge
import Foundation
import Testing
@testable import Tools

@Suite struct JSONSchemaValidatorTests {
    private func messages(_ value: JSONValue, _ schema: JSONValue) -> [String] {
        JSONSchemaValidator.validate(value, against: schema).map(\.description)
    }

    @Test(arguments: [
        ("string", JSONValue.string("x"), true), ("string", 1, false),
        ("number", 1.5, true), ("number", 2, true), ("number", "2", false),
        ("integer", 2, true), ("integer", 2.0, true), ("integer", 2.5, false), ("integer", true, false),
        ("boolean", false, true), ("boolean", 0, false),
        ("object", [:], true), ("object", [], false),
        ("array", [1, 2], true), ("array", [:], false),
        ("null", nil, true), ("null", "", false),
    ] as [(String, JSONValue, Bool)])
    func typeKeyword(type: String, value: JSONValue, valid: Bool) {
        let violations = JSONSchemaValidator.validate(value, against: ["type": .string(type)])
        #expect(violations.isEmpty == valid, "\(value) as \(type): \(violations)")
    }

    @Test func integerMessagesNameWhatWasGiven() {
        #expect(messages("2", ["type": "integer"]) == [#"$ must be an integer (got string "2")"#])
        #expect(messages(2.5, ["type": "integer"]) == ["$ must be an integer (got number 2.5)"])
        #expect(messages(3, ["type": "string"]) == ["$ must be a string (got integer 3)"])
        #expect(messages(nil, ["type": "object"]) == ["$ must be an object (got null)"])
        #expect(messages([1, 2], ["type": "boolean"]) == ["$ must be a boolean (got array of 2 items)"])
    }

    @Test func typeArrays() {
        let schema: JSONValue = ["type": ["string", "null"]]
        #expect(messages(nil, schema).isEmpty)
        #expect(messages("a", schema).isEmpty)
        #expect(messages(1, schema) == ["$ must be a string or null (got integer 1)"])
        #expect(messages(true, ["type": ["integer", "array", "null"]]) == ["$ must be an integer, an array or null (got boolean true)"])
    }

    @Test func checkListsEveryViolationForTheModel() {
        let schema: JSONValue = [
            "type": "object",
            "properties": ["expression": ["type": "string"], "precision": ["type": "integer"]],
            "required": ["expression"],
        ]
        let error = #expect(throws: ToolError.self) {
            try JSONSchemaValidator.check(["precision": "2"], against: schema, toolName: "calculator")
        }
        #expect(error?.message == #"Invalid arguments for tool 'calculator': $.expression is required; $.precision must be an integer (got string "2")"#)
        #expect(throws: Never.self) {
            try JSONSchemaValidator.check(["expression": "1", "precision": 2.0], against: schema, toolName: "calculator")
        }
    }

    @Test func nestedPathsInMessages() {
        let schema: JSONValue = [
            "type": "object",
            "properties": [
                "items": [
                    "type": "array",
                    "items": [
                        "type": "object",
                        "properties": ["name": ["type": "string", "minLength": 1], "tags": ["type": "array", "items": ["type": "string"]]],
                        "required": ["name"],
                    ],
                ],
                "odd key": ["type": "integer"],
            ],
        ]
        let value: JSONValue = [
            "items": [["name": "a"], ["name": "b", "tags": ["x", 2]], ["name": ""], [:]],
            "odd key": "1",
        ]
        #expect(messages(value, schema) == [
            #"$.items[1].tags[1] must be a string (got integer 2)"#,
            "$.items[2].name must be at least 1 character long (got 0 characters)",
            "$.items[3].name is required",
            #"$["odd key"] must be an integer (got string "1")"#,
        ])
    }

    @Test func additionalPropertiesFalseNamesTheAllowedOnes() {
        let schema: JSONValue = ["type": "object", "properties": ["a": [:], "b": [:]], "additionalProperties": false]
        #expect(messages(["a": 1, "b": 2], schema).isEmpty)
        #expect(messages(["a": 1, "c": 3, "d": 4], schema) == [
            "$.c is not an allowed property (allowed: a, b)",
            "$.d is not an allowed property (allowed: a, b)",
        ])
        #expect(messages(["x": 1], ["type": "object", "additionalProperties": false])
            == ["$.x is not an allowed property (no properties are allowed here)"])
    }

    @Test func additionalPropertiesSchemaValidatesExtraValues() {
        let schema: JSONValue = ["type": "object", "properties": ["a": ["type": "string"]], "additionalProperties": ["type": "number"]]
        #expect(messages(["a": "s", "b": 1, "c": 2.5], schema).isEmpty)
        #expect(messages(["a": "s", "b": "no"], schema) == [#"$.b must be a number (got string "no")"#])
        // Without the keyword, extra properties are allowed.
        #expect(messages(["z": 1], ["type": "object", "properties": ["a": [:]]]).isEmpty)
    }

    @Test func enumAndConst() {
        let schema: JSONValue = ["enum": ["save", "list", 3, nil]]
        #expect(messages("list", schema).isEmpty)
        #expect(messages(3.0, schema).isEmpty)
        #expect(messages(nil, schema).isEmpty)
        #expect(messages("drop", schema) == [#"$ must be one of "save", "list", 3, null (got "drop")"#])
        #expect(messages("v1", ["const": "v1"]).isEmpty)
        #expect(messages(["k": 1], ["const": ["k": 1]]).isEmpty)
        #expect(messages("v2", ["const": "v1"]) == [#"$ must equal "v1" (got "v2")"#])
    }

    @Test func numericBounds() {
        let schema: JSONValue = ["type": "number", "minimum": 1, "maximum": 20]
        #expect(messages(1, schema).isEmpty)
        #expect(messages(20, schema).isEmpty)
        #expect(messages(0.5, schema) == ["$ must be >= 1 (got 0.5)"])
        #expect(messages(21, schema) == ["$ must be <= 20 (got 21)"])

        let exclusive: JSONValue = ["exclusiveMinimum": 0, "exclusiveMaximum": 1]
        #expect(messages(0.5, exclusive).isEmpty)
        #expect(messages(0, exclusive) == ["$ must be > 0 (got 0)"])
        #expect(messages(1, exclusive) == ["$ must be < 1 (got 1)"])

        // Draft 4 spelling: booleans that make minimum/maximum exclusive.
        let draft4: JSONValue = ["minimum": 0, "exclusiveMinimum": true, "maximum": 10, "exclusiveMaximum": true]
        #expect(messages(5, draft4).isEmpty)
        #expect(messages(0, draft4) == ["$ must be > 0 (got 0)"])
        #expect(messages(10, draft4) == ["$ must be < 10 (got 10)"])
        // Bounds do not apply to other types.
        #expect(messages("0", schema) == [#"$ must be a number (got string "0")"#])
        #expect(messages("0", ["minimum": 1]).isEmpty)
    }

    @Test func stringLengthCountsUnicodeCharacters() {
        let schema: JSONValue = ["type": "string", "minLength": 2, "maxLength": 3]
        #expect(messages("日本", schema).isEmpty)
        #expect(messages("👍👍👍", schema).isEmpty)  // 3 code points, 6 UTF-16 units, 12 bytes
        #expect(messages("é", schema) == ["$ must be at least 2 characters long (got 1 character)"])
        #expect(messages("abcd", schema) == ["$ must be at most 3 characters long (got 4 characters)"])
    }

    @Test func patternIsSearchedUnanchored() {
        #expect(messages("abc", ["pattern": "b"]).isEmpty)
        #expect(messages("xyz", ["pattern": "b"]) == [#"$ must match the pattern b (got "xyz")"#])
        #expect(messages("ba", ["pattern": "^a"]) == [#"$ must match the pattern ^a (got "ba")"#])
        #expect(messages("Europe/Paris", ["pattern": "^[A-Za-z_]+/[A-Za-z_]+$"]).isEmpty)
        #expect(messages(5, ["pattern": "^a"]).isEmpty)  // Applies to strings only.
    }

    @Test func itemCountsAndTuples() {
        let schema: JSONValue = ["type": "array", "minItems": 1, "maxItems": 2, "items": ["type": "integer"]]
        #expect(messages([1], schema).isEmpty)
        #expect(messages([], schema) == ["$ must have at least 1 item (got 0)"])
        #expect(messages([1, 2, 3], schema) == ["$ must have at most 2 items (got 3)"])
        #expect(messages([1, 1.5], schema) == ["$[1] must be an integer (got number 1.5)"])
        let tuple: JSONValue = ["items": [["type": "string"], ["type": "number"]]]
        #expect(messages(["a", 1, true], tuple).isEmpty)
        #expect(messages([1, "a"], tuple) == ["$[0] must be a string (got integer 1)", #"$[1] must be a number (got string "a")"#])
    }

    @Test func wrongTypeReportsOnlyTheType() {
        let schema: JSONValue = ["type": "string", "minLength": 5, "enum": ["hello"]]
        #expect(messages(1, schema) == ["$ must be a string (got integer 1)"])
    }

    @Test func annotationsAreIgnored() {
        let schema: JSONValue = ["type": "integer", "description": "n", "title": "N", "default": "not an integer", "examples": [1]]
        #expect(messages(1, schema).isEmpty)
        #expect(throws: Never.self) { try JSONSchemaValidator.checkSchema(["type": "object", "properties": ["n": schema]]) }
    }

    @Test func booleanSubschemas() {
        #expect(messages(["a": 1], ["properties": ["a": false]]) == ["$.a is not allowed"])
        #expect(messages(["a": 1], ["properties": ["a": true]]).isEmpty)
    }

    @Test func checkSchemaRejectsMalformedSchemas() throws {
        #expect(throws: InvalidSchemaError.self) { try JSONSchemaValidator.checkSchema("object") }
        #expect(throws: InvalidSchemaError.self) { try JSONSchemaValidator.checkSchema(true) }

        let unknown = #expect(throws: InvalidSchemaError.self) {
            try JSONSchemaValidator.checkSchema(["type": "object", "properties": ["a": ["type": "array", "items": ["type": "strng"]]]])
        }
        #expect(unknown?.problems.map(\.path) == ["$.properties.a.items.type"])
        #expect(unknown?.description.contains("unknown type 'strng'") == true)

        let several = #expect(throws: InvalidSchemaError.self) {
            try JSONSchemaValidator.checkSchema([
                "type": ["string", "text"],
                "pattern": "([a-z",
                "minLength": -1,
                "required": "a",
                "enum": [],
                "properties": ["x": 3],
                "maximum": "10",
            ])
        }
        #expect(several?.problems.map(\.path).sorted() == [
            "$.enum", "$.maximum", "$.minLength", "$.pattern", "$.properties.x", "$.required", "$.type",
        ])

        try JSONSchemaValidator.checkSchema([
            "type": "object",
            "properties": ["a": ["type": ["string", "null"], "pattern": "^a+$"], "b": ["type": "array", "items": true]],
            "required": ["a"],
            "additionalProperties": false,
        ])
    }
}
