import Foundation

/// Bounds on a workspace's `mcp_servers` (the count is a server flag, the sizes are fixed).
public struct MCPServerLimits: Sendable, Equatable {
    public static let defaultMaxServersPerWorkspace = 8
    public static let maxNameLength = 32
    public static let maxCommandLength = 1024
    public static let maxArguments = 64
    public static let maxArgumentLength = 4096
    public static let maxEntries = 64
    public static let maxValueLength = 8192
    public static let maxURLLength = 2048
    public static let maxAllowedTools = 256
    /// One hour: longer calls are better done as background jobs than as one tool call.
    public static let timeoutRange = 1...3_600_000

    public var maxServersPerWorkspace: Int

    public init(maxServersPerWorkspace: Int = MCPServerLimits.defaultMaxServersPerWorkspace) {
        self.maxServersPerWorkspace = maxServersPerWorkspace
    }
}

extension MCPServerConfiguration {
    /// What replaces a secret (`env` and `headers` values) when a configuration is shown. Sent back
    /// unchanged in a PATCH, it keeps the stored value of the same server and key.
    public static let secretMask = "********"

    /// This configuration with every secret value replaced by ``secretMask``.
    public var masked: MCPServerConfiguration {
        var copy = self
        copy.env = env?.mapValues { _ in Self.secretMask }
        copy.headers = headers?.mapValues { _ in Self.secretMask }
        return copy
    }

    /// Checks a whole `mcp_servers` list, after putting back the secrets a client sent masked
    /// (taken from `current`, the stored list, by server name and key). Throws `validation_failed`
    /// naming the first problem.
    public static func validated(_ servers: [MCPServerConfiguration], current: [MCPServerConfiguration]?,
                                 limits: MCPServerLimits) throws -> [MCPServerConfiguration] {
        guard servers.count <= limits.maxServersPerWorkspace else {
            throw APIError.validation(
                "Field 'mcp_servers' may list at most \(limits.maxServersPerWorkspace) servers; got \(servers.count).")
        }
        let stored = Dictionary((current ?? []).map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        var seen: Set<String> = []
        return try servers.enumerated().map { index, server in
            var server = server
            let field = "mcp_servers[\(index)]"
            try server.checkName(field: field)
            guard seen.insert(server.name).inserted else {
                throw APIError.validation("Field '\(field).name': the name '\(server.name)' is used twice; server names must be unique.")
            }
            server.env = try unmask(server.env, stored: stored[server.name]?.env, field: "\(field).env")
            server.headers = try unmask(server.headers, stored: stored[server.name]?.headers, field: "\(field).headers")
            try server.checkFields(field: field)
            return server
        }
    }

    private func checkName(field: String) throws {
        let allowed = name.unicodeScalars.allSatisfy { ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "_" || $0 == "-" }
        guard (1...MCPServerLimits.maxNameLength).contains(name.count), allowed, !name.contains("__") else {
            throw APIError.validation("Field '\(field).name' must be 1-\(MCPServerLimits.maxNameLength) of a-z, 0-9, '_' and '-' "
                                      + "(without '__', which separates server and tool); got '\(name.prefix(80))'.")
        }
    }

    private func checkFields(field: String) throws {
        switch transport {
        case .stdio:
            guard let command, !command.trimmingCharacters(in: .whitespaces).isEmpty else {
                throw APIError.validation("Field '\(field).command' is required for transport 'stdio'.")
            }
            guard command.count <= MCPServerLimits.maxCommandLength, !command.contains("\0") else {
                throw APIError.validation("Field '\(field).command' must be at most \(MCPServerLimits.maxCommandLength) characters.")
            }
            if let args {
                guard args.count <= MCPServerLimits.maxArguments,
                      args.allSatisfy({ $0.count <= MCPServerLimits.maxArgumentLength && !$0.contains("\0") }) else {
                    throw APIError.validation("Field '\(field).args' may hold at most \(MCPServerLimits.maxArguments) arguments "
                                              + "of at most \(MCPServerLimits.maxArgumentLength) characters.")
                }
            }
            if let env {
                try Self.checkEntries(env, field: "\(field).env", keyAllowed: Self.isEnvironmentName)
            }
            guard url == nil, headers == nil else {
                throw APIError.validation("Fields 'url' and 'headers' of \(field) belong to transport 'http', not 'stdio'.")
            }
        case .http:
            guard let url, let parsed = URL(string: url), let scheme = parsed.scheme?.lowercased(),
                  ["http", "https"].contains(scheme), parsed.host?.isEmpty == false,
                  url.count <= MCPServerLimits.maxURLLength else {
                throw APIError.validation("Field '\(field).url' is required for transport 'http' and must be an http:// or https:// URL "
                                          + "of at most \(MCPServerLimits.maxURLLength) characters.")
            }
            if let headers {
                try Self.checkEntries(headers, field: "\(field).headers", keyAllowed: Self.isHeaderName)
                if headers.values.contains(where: { $0.contains("\r") || $0.contains("\n") }) {
                    throw APIError.validation("Field '\(field).headers' values must not contain line breaks.")
                }
            }
            guard command == nil, args == nil, env == nil else {
                throw APIError.validation("Fields 'command', 'args' and 'env' of \(field) belong to transport 'stdio', not 'http'.")
            }
        }
        if let tools {
            guard tools.count <= MCPServerLimits.maxAllowedTools, tools.allSatisfy({ (1...64).contains($0.count) }) else {
                throw APIError.validation("Field '\(field).tools' may list at most \(MCPServerLimits.maxAllowedTools) tool names of 1-64 characters.")
            }
        }
        if let timeoutMs, !MCPServerLimits.timeoutRange.contains(timeoutMs) {
            throw APIError.validation("Field '\(field).timeout_ms' must be from 1 to \(MCPServerLimits.timeoutRange.upperBound); got \(timeoutMs).")
        }
    }

    private static func checkEntries(_ entries: [String: String], field: String, keyAllowed: (String) -> Bool) throws {
        guard entries.count <= MCPServerLimits.maxEntries else {
            throw APIError.validation("Field '\(field)' may hold at most \(MCPServerLimits.maxEntries) entries.")
        }
        for (key, value) in entries.sorted(by: { $0.key < $1.key }) {
            guard keyAllowed(key), key.count <= 256 else {
                throw APIError.validation("Field '\(field)' has an invalid name '\(key.prefix(80))'.")
            }
            guard value.count <= MCPServerLimits.maxValueLength, !value.contains("\0") else {
                throw APIError.validation("Field '\(field).\(key)' must be at most \(MCPServerLimits.maxValueLength) characters.")
            }
        }
    }

    /// Puts back stored secrets for values sent as ``secretMask``; a masked value with nothing
    /// stored behind it is refused, so the mask itself never becomes a secret.
    private static func unmask(_ entries: [String: String]?, stored: [String: String]?, field: String) throws -> [String: String]? {
        guard var entries else { return nil }
        for (key, value) in entries where value == secretMask {
            guard let secret = stored?[key] else {
                throw APIError.validation("Field '\(field).\(key)' is the mask '\(secretMask)' but no value is stored for it; send the real value.")
            }
            entries[key] = secret
        }
        return entries
    }

    static func isEnvironmentName(_ name: String) -> Bool {
        guard let first = name.unicodeScalars.first, first == "_" || isASCIILetter(first) else { return false }
        return name.unicodeScalars.allSatisfy { isASCIILetter($0) || ("0"..."9").contains($0) || $0 == "_" }
    }

    static func isHeaderName(_ name: String) -> Bool {
        // RFC 9110 token characters.
        let symbols = Set("!#$%&'*+-.^_`|~".unicodeScalars)
        return !name.isEmpty && name.unicodeScalars.allSatisfy { isASCIILetter($0) || ("0"..."9").contains($0) || symbols.contains($0) }
    }

    private static func isASCIILetter(_ scalar: Unicode.Scalar) -> Bool {
        ("a"..."z").contains(scalar) || ("A"..."Z").contains(scalar)
    }
}
