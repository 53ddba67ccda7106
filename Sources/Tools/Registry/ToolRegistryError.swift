/// Why the server tools could not be assembled; each case names the file or tool to fix.
public enum ToolRegistryError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The schema directory is missing or unreadable.
    case unreadableDirectory(path: String, reason: String)
    /// A schema file is not valid JSON or lacks a required field.
    case malformedFile(file: String, reason: String)
    /// `<file>` declares a tool whose name is not the file's base name.
    case fileNameMismatch(file: String, name: String)
    /// A schema file's `parameters` is not a usable JSON Schema.
    case invalidSchema(file: String, reason: String)
    /// A schema has no implementation.
    case missingImplementation(tool: String, source: String)
    /// An implementation has no schema; `expectedFile` is where it should be.
    case missingSchema(tool: String, expectedFile: String)
    /// Two schemas or two implementations share a name.
    case duplicateName(tool: String, detail: String)

    public var description: String {
        switch self {
        case .unreadableDirectory(let path, let reason):
            "Cannot read the tool schema directory \(path): \(reason)"
        case .malformedFile(let file, let reason):
            "Tool schema file \(file) is malformed: \(reason)"
        case .fileNameMismatch(let file, let name):
            "Tool schema file \(file) declares the tool '\(name)'; the file must be named \(name).json"
        case .invalidSchema(let file, let reason):
            "Tool schema file \(file) has invalid parameters: \(reason)"
        case .missingImplementation(let tool, let source):
            "Tool '\(tool)' has a schema (\(source)) but no implementation; register a Tool named '\(tool)' or remove the schema"
        case .missingSchema(let tool, let expectedFile):
            "Tool '\(tool)' is implemented but has no schema; add \(expectedFile)"
        case .duplicateName(let tool, let detail):
            "Tool name '\(tool)' is used more than once: \(detail)"
        }
    }
}
