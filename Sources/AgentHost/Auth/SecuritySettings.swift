import Foundation

/// The browser boundary, login throttling and connection deadlines (PROTOCOL §2), resolved from
/// ``SecurityOptions``.
struct SecuritySettings: Sendable, Equatable {
    /// Web origins (`scheme://host[:port]`, normalized) besides the server's own that may call the
    /// API from a browser and get CORS headers.
    var allowedOrigins: [String] = []
    /// Host names (lowercased, without port) accepted in the `Host` header in single-user mode,
    /// besides loopback addresses and `localhost`.
    var allowedHosts: [String] = []
    /// Failed logins of one username within ``loginFailureWindow`` before `429 rate_limited`.
    var loginFailuresPerUser = 5
    /// Failed logins from one client address within ``loginFailureWindow`` before `429 rate_limited`.
    var loginFailuresPerAddress = 20
    var loginFailureWindow: Duration = .seconds(60)
    /// Threads that run password hashing; at most this many scrypt computations run at once.
    /// Half the cores, so a login flood leaves the other half to everything else.
    var passwordHashThreads = max(1, ProcessInfo.processInfo.activeProcessorCount / 2)
    /// A connection must send a complete request head within this time of connecting, and an idle
    /// keep-alive connection is closed after it (slowloris).
    var httpIdleTimeout: Duration = .seconds(30)
    /// Connections being set up at once (``ConnectionAdmission``) before the server stops accepting.
    var maxPendingConnections = 512
    /// How long one connection counts as being set up at most.
    var pendingConnectionHold: Duration = .seconds(1)
    /// Connections open at once before the server stops accepting (``ConnectionAdmission``); by
    /// default as many as the file-descriptor limit leaves room for.
    var maxConnections = FileDescriptorLimit.connections(within: FileDescriptorLimit.current)
    /// Connections the model client opens to one provider host at once; `nil` for the default, a
    /// share of the descriptors ``maxConnections`` leaves (``upstreamConnectionsPerHost``).
    var maxUpstreamConnections: Int?

    /// Connections the model client may open to one host: a chat beyond waits for one to free, so
    /// streams to the models can never take the descriptors the server itself needs.
    var upstreamConnectionsPerHost: Int {
        maxUpstreamConnections ?? FileDescriptorLimit.upstreamConnections(within: FileDescriptorLimit.current, accepting: maxConnections)
    }
}
