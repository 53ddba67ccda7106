import Foundation

/// Finds the console's files the way ``ToolRegistry/locateSchemaDirectory(explicit:)`` finds the
/// tool schemas: they live in the repository (no build step), so a binary run from the checkout, from
/// `.build/…`, or through a symlink into it finds them without configuration.
enum ConsoleDirectory {
    static let name = "console"

    /// `explicit` when given; else `./console` when it holds an `index.html`; else the first `console`
    /// folder beside a `Package.swift` found walking up from the executable's directory.
    static func locate(explicit: String?) -> URL? {
        locate(explicit: explicit,
               currentDirectory: URL(fileURLWithPath: FileManager.default.currentDirectoryPath, isDirectory: true),
               executablePath: Bundle.main.executableURL?.path ?? CommandLine.arguments.first)
    }

    /// ``locate(explicit:)`` with its inputs injected, for tests.
    static func locate(explicit: String?, currentDirectory: URL, executablePath: String?) -> URL? {
        func resolve(_ path: String) -> URL {
            (path.hasPrefix("/") ? URL(fileURLWithPath: path) : currentDirectory.appendingPathComponent(path)).standardizedFileURL
        }
        if let explicit, !explicit.isEmpty { return resolve(explicit) }
        let local = currentDirectory.appendingPathComponent(name, isDirectory: true)
        if hasIndex(local) { return local.standardizedFileURL }
        guard let executablePath, !executablePath.isEmpty else { return nil }
        var directory = resolve(executablePath).resolvingSymlinksInPath().deletingLastPathComponent()
        while true {
            let candidate = directory.appendingPathComponent(name, isDirectory: true)
            if hasIndex(candidate), FileManager.default.fileExists(atPath: directory.appendingPathComponent("Package.swift").path) {
                return candidate.standardizedFileURL
            }
            let parent = directory.deletingLastPathComponent()
            if parent.path == directory.path || directory.path == "/" { return nil }
            directory = parent
        }
    }

    static func hasIndex(_ directory: URL) -> Bool {
        FileManager.default.fileExists(atPath: directory.appendingPathComponent("index.html").path)
    }
}
