import ArgumentParser
import Foundation

/// Browser, login and connection limits of `agenthost serve`, each also an environment variable.
struct SecurityOptions: ParsableArguments {
    @Option(name: .customLong("allowed-origins"), help: "Comma-separated web origins (e.g. http://localhost:3000) allowed to call the API from a browser besides the server's own. Env: AGENTHOST_ALLOWED_ORIGINS. Default: none")
    var allowedOrigins: String?

    @Option(name: .customLong("allowed-hosts"), help: "Comma-separated host names accepted in the Host header in single-user mode besides loopback addresses and localhost. Env: AGENTHOST_ALLOWED_HOSTS. Default: none")
    var allowedHosts: String?

    @Option(name: .customLong("login-max-failures-per-user"), help: "Failed logins of one username per window before 429. Env: AGENTHOST_LOGIN_MAX_FAILURES_PER_USER. Default: 5")
    var loginFailuresPerUser: Int?

    @Option(name: .customLong("login-max-failures-per-address"), help: "Failed logins from one client address per window before 429. Env: AGENTHOST_LOGIN_MAX_FAILURES_PER_ADDRESS. Default: 20")
    var loginFailuresPerAddress: Int?

    @Option(name: .customLong("login-failure-window"), help: "Seconds over which failed logins are counted. Env: AGENTHOST_LOGIN_FAILURE_WINDOW. Default: 60")
    var loginFailureWindow: Int?

    @Option(name: .customLong("password-hash-threads"), help: "Threads (and so concurrent scrypt computations) for password checks. Env: AGENTHOST_PASSWORD_HASH_THREADS. Default: half the CPU cores, at least 1")
    var passwordHashThreads: Int?

    @Option(name: .customLong("http-idle-timeout"), help: "Seconds a connection may take to send a request head, and may stay idle between requests. Env: AGENTHOST_HTTP_IDLE_TIMEOUT. Default: 30")
    var httpIdleTimeout: Int?

    @Option(name: .customLong("max-pending-connections"), help: "Connections being set up at once (accepted, not yet past their first request or WebSocket upgrade); with this many the server stops accepting until half are done, so a burst of connects waits in the kernel's listen queue instead of in memory. Env: AGENTHOST_MAX_PENDING_CONNECTIONS. Default: 512")
    var maxPendingConnections: Int?

    @Option(name: .customLong("max-connections"), help: "Connections open at once (HTTP and WebSocket); with this many the server stops accepting until a twentieth have closed, so it never runs out of file descriptors. Env: AGENTHOST_MAX_CONNECTIONS. Default: the file-descriptor limit (raised to its hard limit at start) less a reserve of an eighth of it, at least 256 descriptors")
    var maxConnections: Int?

    @Option(name: .customLong("max-upstream-connections"), help: "Connections open at once to one model or embeddings host; a chat beyond waits for one to free. Env: AGENTHOST_MAX_UPSTREAM_CONNECTIONS. Default: a quarter of the file descriptors --max-connections leaves, at least 8, at most 4096")
    var maxUpstreamConnections: Int?

    @Option(name: .customLong("pending-connection-hold"), help: "Seconds a connection counts as being set up at most, so connections that send nothing cannot keep the server from accepting. Env: AGENTHOST_PENDING_CONNECTION_HOLD. Default: 1")
    var pendingConnectionHold: Double?

    /// Flags first, then the environment, then defaults.
    func settings() throws -> SecuritySettings {
        var settings = SecuritySettings()
        if let origins = allowedOrigins ?? Environment.value("AGENTHOST_ALLOWED_ORIGINS") {
            settings.allowedOrigins = try Self.list(origins).map { entry in
                guard let origin = WebOrigin(entry) else {
                    throw ValidationError("'\(entry)' is not a web origin; write it as scheme://host[:port], e.g. http://localhost:3000.")
                }
                return origin.serialized
            }
        }
        if let hosts = allowedHosts ?? Environment.value("AGENTHOST_ALLOWED_HOSTS") {
            settings.allowedHosts = Self.list(hosts).map { HostHeader.hostname(of: $0) }
        }
        if let value = try Environment.integer(loginFailuresPerUser, "AGENTHOST_LOGIN_MAX_FAILURES_PER_USER", in: 1...Int.max) {
            settings.loginFailuresPerUser = value
        }
        if let value = try Environment.integer(loginFailuresPerAddress, "AGENTHOST_LOGIN_MAX_FAILURES_PER_ADDRESS", in: 1...Int.max) {
            settings.loginFailuresPerAddress = value
        }
        if let value = try Environment.integer(loginFailureWindow, "AGENTHOST_LOGIN_FAILURE_WINDOW", in: 1...Int.max) {
            settings.loginFailureWindow = .seconds(value)
        }
        if let value = try Environment.integer(passwordHashThreads, "AGENTHOST_PASSWORD_HASH_THREADS", in: 1...Int.max) {
            settings.passwordHashThreads = value
        }
        if let value = try Environment.integer(httpIdleTimeout, "AGENTHOST_HTTP_IDLE_TIMEOUT", in: 1...Int.max) {
            settings.httpIdleTimeout = .seconds(value)
        }
        if let value = try Environment.integer(maxPendingConnections, "AGENTHOST_MAX_PENDING_CONNECTIONS", in: 1...1_000_000) {
            settings.maxPendingConnections = value
        }
        if let value = try Environment.integer(maxConnections, "AGENTHOST_MAX_CONNECTIONS", in: 1...10_000_000) {
            settings.maxConnections = value
        }
        if let value = try Environment.integer(maxUpstreamConnections, "AGENTHOST_MAX_UPSTREAM_CONNECTIONS", in: 1...100_000) {
            settings.maxUpstreamConnections = value
        }
        if let seconds = try Environment.decimal(pendingConnectionHold, "AGENTHOST_PENDING_CONNECTION_HOLD", above: 0, upTo: 60,
                                                 flagName: "--pending-connection-hold") {
            settings.pendingConnectionHold = .milliseconds(Int64((seconds * 1000).rounded()))
        }
        return settings
    }

    private static func list(_ text: String) -> [String] {
        text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }
}
