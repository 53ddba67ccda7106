#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The process's limit on open file descriptors (`RLIMIT_NOFILE`): every connection holds one, and so
/// does every model request, database file and MCP server pipe.
enum FileDescriptorLimit {
    /// The limit in force (the soft limit).
    static var current: Int {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return 1024 }
        return Int(clamping: limit.rlim_cur)  // RLIM_INFINITY (all bits set) becomes Int.max
    }

    /// Raises the soft limit to the hard one, as servers of many sockets do: the usual soft default of
    /// 1,024 would cap the server near a thousand connections whatever the machine allows. Returns
    /// the limit then in force.
    @discardableResult
    static func raiseToHardLimit() -> Int {
        var limit = rlimit()
        if getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0, limit.rlim_cur < limit.rlim_max {
            limit.rlim_cur = limit.rlim_max
            _ = setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        }
        return current
    }

    /// Connections to accept at most under a limit of `descriptors`: an eighth of them (at least 256)
    /// stay for everything else a connection may need, such as its chat's model request.
    static func connections(within descriptors: Int) -> Int {
        guard descriptors < Int.max / 2 else { return 1_000_000 }
        return max(descriptors - max(descriptors / 8, 256), 16)
    }

    /// Connections the model client opens to one host at most, by default: a quarter of what
    /// `accepting` connections leave of `descriptors`, so the configured model, the embeddings
    /// provider and another host or two fit in the reserve beside the database and MCP servers'
    /// pipes (running out would fail more than the chat: the thread pool's monitor cannot read
    /// `/proc` then, and stops the process). At least 8, at most 4,096.
    static func upstreamConnections(within descriptors: Int, accepting: Int) -> Int {
        guard descriptors < Int.max / 2 else { return 4_096 }
        return min(max((descriptors - accepting) / 4, 8), 4_096)
    }
}
