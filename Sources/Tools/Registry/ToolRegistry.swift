import ChatBridge
import Foundation

/// The server tools AgentHost offers: each implementation paired with the spec loaded from its
/// schema file, checked once at startup so a broken deployment fails fast instead of mid-conversation.
public struct ToolRegistry: Sendable {
    /// The environment variable naming the schema directory when no explicit path is given.
    public static let schemaDirectoryEnvironmentVariable = "AGENTHOST_TOOL_SCHEMAS"
    /// The conventional directory name, at the package root.
    public static let schemaDirectoryName = "tool-schemas"

    private let toolsByName: [String: any Tool]
    private let specsByName: [String: ToolSpec]

    /// Loads every `*.json` file of `schemaDirectory` and pairs each with the implementation of the
    /// same name from `tools`.
    ///
    /// Each file is `{"name", "description", "parameters", "requires_approval"?: bool, "timeout_ms"?: int}`
    /// and must be called `<name>.json`; the executor is always `server`. Throws ``ToolRegistryError``
    /// for an unreadable directory, a malformed file, a file name that differs from its tool name, an
    /// invalid schema, a schema without implementation, an implementation without schema, or a name
    /// used twice.
    public init(schemaDirectory: URL, tools: [any Tool]) throws {
        let loaded = try Self.loadSpecs(from: schemaDirectory)
        try self.init(pairing: loaded, tools: tools) { name in
            schemaDirectory.appendingPathComponent("\(name).json").path
        }
    }

    /// Pairs specs given in code with implementations, with the same checks as loading from files.
    /// Useful for tests and for embedding AgentHost with tools of its own.
    public init(specs: [ToolSpec], tools: [any Tool]) throws {
        var loaded: [(spec: ToolSpec, source: String)] = []
        for spec in specs {
            let source = "spec '\(spec.name)'"
            if let problem = Self.nameProblem(spec.name) {
                throw ToolRegistryError.malformedFile(file: source, reason: problem)
            }
            if spec.executor != .server {
                throw ToolRegistryError.malformedFile(file: source, reason: "a registered tool must have executor 'server'")
            }
            try Self.checkParameters(spec.parameters, file: source)
            loaded.append((spec, source))
        }
        try self.init(pairing: loaded, tools: tools) { name in "a ToolSpec named '\(name)'" }
    }

    private init(pairing loaded: [(spec: ToolSpec, source: String)], tools: [any Tool],
                 expectedSchema: (String) -> String) throws {
        var specs: [String: ToolSpec] = [:]
        var sources: [String: String] = [:]
        for (spec, source) in loaded {
            if let earlier = sources[spec.name] {
                throw ToolRegistryError.duplicateName(tool: spec.name, detail: "declared by \(earlier) and by \(source)")
            }
            specs[spec.name] = spec
            sources[spec.name] = source
        }

        var implementations: [String: any Tool] = [:]
        for tool in tools {
            if let earlier = implementations[tool.name] {
                throw ToolRegistryError.duplicateName(
                    tool: tool.name, detail: "implemented by both \(type(of: earlier)) and \(type(of: tool))"
                )
            }
            implementations[tool.name] = tool
        }

        for name in specs.keys.sorted() where implementations[name] == nil {
            throw ToolRegistryError.missingImplementation(tool: name, source: sources[name] ?? name)
        }
        for name in implementations.keys.sorted() where specs[name] == nil {
            throw ToolRegistryError.missingSchema(tool: name, expectedFile: expectedSchema(name))
        }
        self.toolsByName = implementations
        self.specsByName = specs
    }

    // MARK: Lookup

    /// The implementation of `name`, or `nil` when there is no such server tool.
    public func tool(named name: String) -> (any Tool)? {
        toolsByName[name]
    }

    /// The spec of `name`, or `nil` when there is no such server tool.
    public func spec(named name: String) -> ToolSpec? {
        specsByName[name]
    }

    /// Every spec, sorted by name.
    public var specs: [ToolSpec] {
        specsByName.keys.sorted().compactMap { specsByName[$0] }
    }

    /// Every tool name, sorted.
    public var names: [String] {
        specsByName.keys.sorted()
    }

    /// Validates `arguments` against the tool's schema, then runs it. Throws ``ToolError`` (for the
    /// model) for an unknown tool or invalid arguments, and whatever the tool throws. Timeouts and
    /// approval are the caller's business.
    public func run(_ name: String, arguments: JSONValue, context: ToolContext) async throws -> JSONValue {
        guard let spec = specsByName[name], let tool = toolsByName[name] else {
            throw ToolError("Unknown tool '\(name)'; available tools: \(names.joined(separator: ", "))")
        }
        try spec.validate(arguments: arguments)
        return try await tool.run(arguments: arguments, context: context)
    }

    /// The built-in server tools: calculator, current_time, search_chats, search_documents and workspace_notes.
    public static func builtInTools() -> [any Tool] {
        [CalculatorTool(), CurrentTimeTool(), SearchChatsTool(), SearchDocumentsTool(), WorkspaceNotesTool()]
    }

    // MARK: Loading

    private static let fileKeys: Set<String> = ["name", "description", "parameters", "requires_approval", "timeout_ms", "executor"]

    private static func loadSpecs(from directory: URL) throws -> [(spec: ToolSpec, source: String)] {
        let files: [URL]
        do {
            files = try FileManager.default.contentsOfDirectory(at: directory, includingPropertiesForKeys: nil)
                .filter { $0.pathExtension == "json" }
                .sorted { $0.lastPathComponent < $1.lastPathComponent }
        } catch {
            throw ToolRegistryError.unreadableDirectory(path: directory.path, reason: reason(error))
        }
        return try files.map { file in (try loadSpec(file), file.path) }
    }

    private static func loadSpec(_ file: URL) throws -> ToolSpec {
        let path = file.path
        let document: JSONValue
        do {
            document = try JSONValue(parsing: Data(contentsOf: file))
        } catch {
            throw ToolRegistryError.malformedFile(file: path, reason: "not valid JSON (\(reason(error)))")
        }
        guard case .object(let fields) = document else {
            throw ToolRegistryError.malformedFile(file: path, reason: "the top level must be a JSON object")
        }
        if let unknown = fields.keys.sorted().first(where: { !fileKeys.contains($0) }) {
            // Usually a typo such as "requires_aproval" that would otherwise silently be ignored.
            throw ToolRegistryError.malformedFile(
                file: path, reason: "unknown field '\(unknown)' (allowed: \(fileKeys.sorted().joined(separator: ", ")))"
            )
        }
        guard let name = fields["name"]?.stringValue else {
            throw ToolRegistryError.malformedFile(file: path, reason: "'name' must be a string")
        }
        if let problem = nameProblem(name) {
            throw ToolRegistryError.malformedFile(file: path, reason: problem)
        }
        guard file.lastPathComponent == "\(name).json" else {
            throw ToolRegistryError.fileNameMismatch(file: path, name: name)
        }
        guard let description = fields["description"]?.stringValue,
              !description.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty
        else {
            throw ToolRegistryError.malformedFile(file: path, reason: "'description' must be a non-empty string")
        }
        guard let parameters = fields["parameters"] else {
            throw ToolRegistryError.malformedFile(file: path, reason: "'parameters' (a JSON Schema) is missing")
        }
        try checkParameters(parameters, file: path)

        var requiresApproval = false
        if let value = fields["requires_approval"] {
            guard let flag = value.boolValue else {
                throw ToolRegistryError.malformedFile(file: path, reason: "'requires_approval' must be true or false")
            }
            requiresApproval = flag
        }
        var timeout: Int?
        if let value = fields["timeout_ms"] {
            guard let milliseconds = value.intValue, milliseconds > 0 else {
                throw ToolRegistryError.malformedFile(file: path, reason: "'timeout_ms' must be a positive integer")
            }
            timeout = milliseconds
        }
        if let executor = fields["executor"], executor != .string(ToolExecutor.server.rawValue) {
            throw ToolRegistryError.malformedFile(file: path, reason: "'executor' of a schema file can only be \"server\"")
        }
        return ToolSpec(name: name, description: description, parameters: parameters, executor: .server,
                        requiresApproval: requiresApproval, timeoutMilliseconds: timeout)
    }

    /// Providers only accept an object schema at the top of a tool's parameters.
    private static func checkParameters(_ parameters: JSONValue, file: String) throws {
        do {
            try JSONSchemaValidator.checkSchema(parameters)
        } catch let error as InvalidSchemaError {
            throw ToolRegistryError.invalidSchema(file: file, reason: error.description)
        }
        guard parameters["type"] == .string("object") else {
            throw ToolRegistryError.invalidSchema(file: file, reason: #"the top-level schema must have "type": "object""#)
        }
    }

    /// Why `name` cannot be a tool name, or `nil`. Model APIs accept 1–64 of `[A-Za-z0-9_-]`.
    private static func nameProblem(_ name: String) -> String? {
        let allowed = name.unicodeScalars.allSatisfy { $0.isASCII && (CharacterSet.alphanumerics.contains($0) || $0 == "_" || $0 == "-") }
        guard !name.isEmpty, name.count <= 64, allowed else {
            return "the tool name \(JSONValue.string(name).serializedString) must be 1-64 letters, digits, '_' or '-'"
        }
        return nil
    }

    private static func reason(_ error: any Error) -> String {
        switch error {
        case let error as JSONValue.ParsingError:
            return error.description
        default:
            // A file system error: Foundation's message names the file and the cause.
            return (error as NSError).localizedDescription
        }
    }

    // MARK: Finding the schema directory

    /// Where the schema files are: `explicit` when given; else `$AGENTHOST_TOOL_SCHEMAS`; else
    /// `./tool-schemas` when it exists; else the first `tool-schemas` folder beside a `Package.swift`
    /// found walking up from the executable's directory (so `swift run` and `.build/debug/agenthost`
    /// work from anywhere). `nil` when none is found.
    public static func locateSchemaDirectory(explicit: String?) -> URL? {
        locateSchemaDirectory(
            explicit: explicit,
            environment: ProcessInfo.processInfo.environment,
            currentDirectory: URL(fileURLWithPath: FileManager.default.currentDirectoryPath, isDirectory: true),
            executablePath: Bundle.main.executableURL?.path ?? CommandLine.arguments.first
        )
    }

    /// ``locateSchemaDirectory(explicit:)`` with its inputs injected, for tests. Relative paths are
    /// taken relative to `currentDirectory`.
    static func locateSchemaDirectory(explicit: String?, environment: [String: String], currentDirectory: URL,
                                      executablePath: String?) -> URL? {
        func resolve(_ path: String) -> URL {
            let url = path.hasPrefix("/") ? URL(fileURLWithPath: path) : currentDirectory.appendingPathComponent(path)
            return url.standardizedFileURL
        }
        if let explicit, !explicit.isEmpty {
            return resolve(explicit)
        }
        if let configured = environment[schemaDirectoryEnvironmentVariable], !configured.isEmpty {
            return resolve(configured)
        }
        let local = currentDirectory.appendingPathComponent(schemaDirectoryName, isDirectory: true)
        if isDirectory(local) { return local.standardizedFileURL }

        guard let executablePath, !executablePath.isEmpty else { return nil }
        // Symlinks are resolved so an installed link (e.g. /usr/local/bin/agenthost) still finds the
        // checkout it points into.
        var directory = resolve(executablePath).resolvingSymlinksInPath().deletingLastPathComponent()
        while true {
            let candidate = directory.appendingPathComponent(schemaDirectoryName, isDirectory: true)
            if isDirectory(candidate),
               FileManager.default.fileExists(atPath: directory.appendingPathComponent("Package.swift").path) {
                return candidate.standardizedFileURL
            }
            let parent = directory.deletingLastPathComponent()
            if parent.path == directory.path || directory.path == "/" { return nil }
            directory = parent
        }
    }

    private static func isDirectory(_ url: URL) -> Bool {
        var flag: ObjCBool = false
        return FileManager.default.fileExists(atPath: url.path, isDirectory: &flag) && flag.boolValue
    }
}
