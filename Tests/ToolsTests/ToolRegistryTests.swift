import ChatBridge
import Foundation
import Testing
@testable import Tools

@Suite struct ToolRegistryTests {
    private static let builtInNames = ["calculator", "current_time", "search_chats", "search_documents", "workspace_notes"]

    /// A temporary copy of the real schema directory, to break in one way per test.
    private func copyOfRealSchemas() throws -> TemporaryDirectory {
        let directory = try TemporaryDirectory()
        for file in try FileManager.default.contentsOfDirectory(atPath: realSchemaDirectory.path) {
            try FileManager.default.copyItem(at: realSchemaDirectory.appendingPathComponent(file),
                                             to: directory.url.appendingPathComponent(file))
        }
        return directory
    }

    private func loadError(_ directory: TemporaryDirectory, tools: [any Tool] = ToolRegistry.builtInTools()) -> ToolRegistryError? {
        #expect(throws: ToolRegistryError.self) { try ToolRegistry(schemaDirectory: directory.url, tools: tools) }
    }

    @Test func loadsTheRealSchemasAndPairsAllFourBuiltIns() throws {
        let registry = try ToolRegistry(schemaDirectory: realSchemaDirectory, tools: ToolRegistry.builtInTools())
        #expect(registry.specs.map(\.name) == Self.builtInNames)
        #expect(registry.names == Self.builtInNames)
        #expect(registry.tool(named: "calculator") is CalculatorTool)
        #expect(registry.tool(named: "current_time") is CurrentTimeTool)
        #expect(registry.tool(named: "search_chats") is SearchChatsTool)
        #expect(registry.tool(named: "workspace_notes") is WorkspaceNotesTool)
        #expect(registry.tool(named: "nope") == nil)
        #expect(registry.spec(named: "nope") == nil)

        for spec in registry.specs {
            #expect(spec.executor == .server)
            #expect(spec.requiresApproval == false)
            #expect(spec.description.count > 80, "\(spec.name) deserves a fuller description")
            #expect(spec.parameters["type"] == "object")
            #expect(spec.parameters["additionalProperties"] == false, "\(spec.name)")
            for (property, schema) in spec.parameters["properties"]?.objectValue ?? [:] {
                #expect(schema["description"]?.stringValue?.isEmpty == false, "\(spec.name).\(property) lacks a description")
            }
            #expect(spec.definition == ToolDefinition(name: spec.name, description: spec.description, parameters: spec.parameters))
        }
        #expect(registry.spec(named: "workspace_notes")?.parameters["properties"]?["action"]?["enum"] == ["save", "list", "delete"])
    }

    @Test func builtInSchemasAcceptGoodArgumentsAndRejectBadOnes() throws {
        let registry = try ToolRegistry(schemaDirectory: realSchemaDirectory, tools: ToolRegistry.builtInTools())
        func check(_ name: String, _ arguments: JSONValue) -> [String] {
            JSONSchemaValidator.validate(arguments, against: registry.spec(named: name)?.parameters ?? false).map(\.description)
        }
        #expect(check("calculator", ["expression": "1+1"]).isEmpty)
        #expect(check("calculator", [:]) == ["$.expression is required"])
        #expect(check("calculator", ["expression": "1", "precision": 2])
            == ["$.precision is not an allowed property (allowed: expression)"])
        #expect(check("current_time", [:]).isEmpty)
        #expect(check("current_time", ["time_zone": 1]) == ["$.time_zone must be a string (got integer 1)"])
        #expect(check("search_chats", ["query": "x", "limit": 20]).isEmpty)
        #expect(check("search_chats", ["query": "x", "limit": 2.5]) == ["$.limit must be an integer (got number 2.5)"])
        #expect(check("workspace_notes", ["action": "list"]).isEmpty)
        #expect(check("workspace_notes", ["action": "save", "title": "t", "content": "c"]).isEmpty)
        #expect(check("workspace_notes", ["action": "remove", "note_id": "3"]) == [
            #"$.action must be one of "save", "list", "delete" (got "remove")"#,
            #"$.note_id must be an integer (got string "3")"#,
        ])
    }

    @Test func runValidatesThenRuns() async throws {
        let fixture = try await StoreFixture()
        let registry = try ToolRegistry(schemaDirectory: realSchemaDirectory, tools: ToolRegistry.builtInTools())
        let output = try await registry.run("calculator", arguments: ["expression": "6*7"], context: fixture.context())
        #expect(output["result"] == 42)

        let invalid = await #expect(throws: ToolError.self) {
            try await registry.run("calculator", arguments: ["expression": 42], context: fixture.context())
        }
        #expect(invalid?.message == "Invalid arguments for tool 'calculator': $.expression must be a string (got integer 42)")
        let unknown = await #expect(throws: ToolError.self) {
            try await registry.run("shell", arguments: [:], context: fixture.context())
        }
        #expect(unknown?.message == "Unknown tool 'shell'; available tools: calculator, current_time, search_chats, search_documents, workspace_notes")
    }

    @Test func schemaWithoutImplementation() throws {
        let directory = try copyOfRealSchemas()
        defer { directory.cleanUp() }
        try directory.write("weather.json", #"{"name": "weather", "description": "Weather.", "parameters": {"type": "object"}}"#)
        let error = loadError(directory)
        #expect(error == .missingImplementation(tool: "weather", source: directory.url.appendingPathComponent("weather.json").path))
        #expect(error?.description.contains("Tool 'weather' has a schema (") == true)
        #expect(error?.description.contains("weather.json") == true)
    }

    @Test func implementationWithoutSchema() throws {
        let directory = try copyOfRealSchemas()
        defer { directory.cleanUp() }
        let error = loadError(directory, tools: ToolRegistry.builtInTools() + [EchoTool(name: "echo")])
        let expected = directory.url.appendingPathComponent("echo.json").path
        #expect(error == .missingSchema(tool: "echo", expectedFile: expected))
        #expect(error?.description == "Tool 'echo' is implemented but has no schema; add \(expected)")
    }

    @Test func missingBuiltInSchema() throws {
        let directory = try copyOfRealSchemas()
        defer { directory.cleanUp() }
        try FileManager.default.removeItem(at: directory.url.appendingPathComponent("current_time.json"))
        #expect(loadError(directory) == .missingSchema(tool: "current_time",
                                                       expectedFile: directory.url.appendingPathComponent("current_time.json").path))
    }

    @Test func fileNameMustMatchToolName() throws {
        let directory = try TemporaryDirectory()
        defer { directory.cleanUp() }
        try directory.write("echo.json", #"{"name": "echo2", "description": "Echo.", "parameters": {"type": "object"}}"#)
        let error = loadError(directory, tools: [EchoTool(name: "echo2")])
        #expect(error == .fileNameMismatch(file: directory.url.appendingPathComponent("echo.json").path, name: "echo2"))
        #expect(error?.description.hasSuffix("declares the tool 'echo2'; the file must be named echo2.json") == true)
    }

    @Test func invalidJSONNamesTheFile() throws {
        let directory = try TemporaryDirectory()
        defer { directory.cleanUp() }
        try directory.write("echo.json", #"{"name": "echo", "description": "#)
        let error = loadError(directory, tools: [EchoTool(name: "echo")])
        guard case .malformedFile(let file, let reason) = error else {
            Issue.record("expected malformedFile, got \(String(describing: error))")
            return
        }
        #expect(file == directory.url.appendingPathComponent("echo.json").path)
        #expect(reason.hasPrefix("not valid JSON"))
        #expect(error?.description.contains("echo.json is malformed: not valid JSON") == true)
    }

    @Test(arguments: [
        (#"[1, 2]"#, "the top level must be a JSON object"),
        (#"{"description": "d", "parameters": {"type": "object"}}"#, "'name' must be a string"),
        (#"{"name": "echo", "parameters": {"type": "object"}}"#, "'description' must be a non-empty string"),
        (#"{"name": "echo", "description": "d"}"#, "'parameters' (a JSON Schema) is missing"),
        (#"{"name": "echo", "description": "d", "parameters": {"type": "object"}, "requires_approval": "yes"}"#,
         "'requires_approval' must be true or false"),
        (#"{"name": "echo", "description": "d", "parameters": {"type": "object"}, "timeout_ms": 0}"#,
         "'timeout_ms' must be a positive integer"),
        (#"{"name": "echo", "description": "d", "parameters": {"type": "object"}, "executor": "client"}"#,
         #"'executor' of a schema file can only be "server""#),
        (#"{"name": "echo", "description": "d", "parameters": {"type": "object"}, "requires_aproval": true}"#,
         "unknown field 'requires_aproval'"),
    ])
    func malformedFields(json: String, reason: String) throws {
        let directory = try TemporaryDirectory()
        defer { directory.cleanUp() }
        try directory.write("echo.json", json)
        let error = loadError(directory, tools: [EchoTool(name: "echo")])
        guard case .malformedFile(_, let actual) = error else {
            Issue.record("expected malformedFile, got \(String(describing: error))")
            return
        }
        #expect(actual.hasPrefix(reason), "\(actual)")
    }

    @Test func invalidParameterSchemas() throws {
        let directory = try TemporaryDirectory()
        defer { directory.cleanUp() }
        try directory.write("echo.json", #"{"name": "echo", "description": "d", "parameters": {"type": "object", "properties": {"x": {"type": "strng"}}}}"#)
        let error = loadError(directory, tools: [EchoTool(name: "echo")])
        guard case .invalidSchema(_, let reason) = error else {
            Issue.record("expected invalidSchema, got \(String(describing: error))")
            return
        }
        #expect(reason.contains("$.properties.x.type: unknown type 'strng'"))

        try directory.write("echo.json", #"{"name": "echo", "description": "d", "parameters": {"type": "string"}}"#)
        guard case .invalidSchema(_, let topLevel) = loadError(directory, tools: [EchoTool(name: "echo")]) else {
            Issue.record("a non-object parameters schema must be rejected")
            return
        }
        #expect(topLevel.contains(#""type": "object""#))
    }

    @Test func duplicateImplementations() throws {
        let directory = try TemporaryDirectory()
        defer { directory.cleanUp() }
        try directory.write("echo.json", #"{"name": "echo", "description": "d", "parameters": {"type": "object"}}"#)
        let error = loadError(directory, tools: [EchoTool(name: "echo"), EchoTool(name: "echo")])
        #expect(error == .duplicateName(tool: "echo", detail: "implemented by both EchoTool and EchoTool"))
    }

    @Test func duplicateSpecsInCode() {
        let spec = ToolSpec(name: "echo", description: "d", parameters: ["type": "object"], executor: .server)
        let error = #expect(throws: ToolRegistryError.self) {
            try ToolRegistry(specs: [spec, spec], tools: [EchoTool(name: "echo")])
        }
        #expect(error?.description.contains("Tool name 'echo' is used more than once") == true)
    }

    @Test func optionalFieldsAndIgnoredFiles() throws {
        let directory = try TemporaryDirectory()
        defer { directory.cleanUp() }
        try directory.write("echo.json", #"{"name": "echo", "description": "d", "parameters": {"type": "object"}, "requires_approval": true, "timeout_ms": 1500, "executor": "server"}"#)
        try directory.write("README.md", "not a schema")
        let registry = try ToolRegistry(schemaDirectory: directory.url, tools: [EchoTool(name: "echo")])
        let spec = try #require(registry.spec(named: "echo"))
        #expect(spec.requiresApproval)
        #expect(spec.timeoutMilliseconds == 1500)
        #expect(spec.effectiveTimeout == .milliseconds(1500))
        #expect(spec.executor == .server)
    }

    @Test func registryFromSpecsInCode() async throws {
        let spec = ToolSpec(name: "echo", description: "Echo.", parameters: ["type": "object", "required": ["x"]], executor: .server)
        let registry = try ToolRegistry(specs: [spec], tools: [EchoTool(name: "echo")])
        #expect(registry.spec(named: "echo") == spec)
        let fixture = try await StoreFixture()
        #expect(try await registry.run("echo", arguments: ["x": 1], context: fixture.context()) == ["x": 1])

        let client = ToolSpec(name: "echo", description: "Echo.", parameters: ["type": "object"], executor: .client)
        #expect(throws: ToolRegistryError.self) { try ToolRegistry(specs: [client], tools: [EchoTool(name: "echo")]) }
        #expect(throws: ToolRegistryError.self) { try ToolRegistry(specs: [], tools: [EchoTool(name: "echo")]) }
        let badName = ToolSpec(name: "has space", description: "d", parameters: ["type": "object"], executor: .server)
        #expect(throws: ToolRegistryError.self) { try ToolRegistry(specs: [badName], tools: [EchoTool(name: "has space")]) }
    }

    @Test func missingDirectory() {
        let missing = URL(fileURLWithPath: "/nonexistent-\(UUID().uuidString)")
        let error = #expect(throws: ToolRegistryError.self) {
            try ToolRegistry(schemaDirectory: missing, tools: [])
        }
        guard case .unreadableDirectory(let path, _) = error else {
            Issue.record("expected unreadableDirectory, got \(String(describing: error))")
            return
        }
        #expect(path == missing.path)
    }

    @Test func locatingTheSchemaDirectory() throws {
        let root = try TemporaryDirectory()
        defer { root.cleanUp() }
        let checkout = root.url.appendingPathComponent("checkout")
        try root.write("checkout/Package.swift", "// swift-tools-version:6.1")
        try root.write("checkout/tool-schemas/calculator.json", "{}")
        try root.write("checkout/.build/debug/agenthost", "")
        try root.write("elsewhere/tool-schemas/x.json", "{}")  // tool-schemas without Package.swift beside it
        try root.write("elsewhere/bin/agenthost", "")
        let nowhere = root.url.appendingPathComponent("nowhere")
        try FileManager.default.createDirectory(at: nowhere, withIntermediateDirectories: true)
        let executable = checkout.appendingPathComponent(".build/debug/agenthost").path

        func locate(_ explicit: String?, env: [String: String] = [:], cwd: URL, exe: String?) -> String? {
            ToolRegistry.locateSchemaDirectory(explicit: explicit, environment: env, currentDirectory: cwd, executablePath: exe)?.path
        }
        let expected = checkout.appendingPathComponent("tool-schemas").standardizedFileURL.path

        #expect(locate("/opt/schemas", env: ["AGENTHOST_TOOL_SCHEMAS": "/env/schemas"], cwd: checkout, exe: executable) == "/opt/schemas")
        #expect(locate(nil, env: ["AGENTHOST_TOOL_SCHEMAS": "/env/schemas"], cwd: checkout, exe: executable) == "/env/schemas")
        #expect(locate("rel", cwd: nowhere, exe: nil) == nowhere.appendingPathComponent("rel").standardizedFileURL.path)
        #expect(locate(nil, cwd: checkout, exe: nil) == expected)
        #expect(locate(nil, cwd: nowhere, exe: executable) == expected)
        #expect(locate(nil, cwd: checkout.appendingPathComponent(".build"), exe: "debug/agenthost") == expected)
        #expect(locate(nil, cwd: nowhere, exe: root.url.appendingPathComponent("elsewhere/bin/agenthost").path) == nil)
        #expect(locate(nil, cwd: nowhere, exe: nil) == nil)
    }

    @Test func realSchemaDirectoryIsFoundFromThePackage() throws {
        // Walking up from anything inside the package finds its tool-schemas.
        let found = ToolRegistry.locateSchemaDirectory(
            explicit: nil, environment: [:], currentDirectory: URL(fileURLWithPath: "/"),
            executablePath: realSchemaDirectory.deletingLastPathComponent().appendingPathComponent("Sources/Tools/Tool.swift").path
        )
        #expect(found?.path == realSchemaDirectory.standardizedFileURL.path)
    }
}
