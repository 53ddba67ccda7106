/// A browser origin, `scheme://host[:port]` (RFC 6454), as sent in the `Origin` header or listed
/// in `--allowed-origins`; lowercased, with the scheme's default port left out.
struct WebOrigin: Sendable, Equatable {
    let scheme: String
    let host: String
    /// `nil` when it is the scheme's default port.
    let port: Int?

    /// Parses an origin; `nil` for `null` (sandboxed frames, `file:` pages) and anything malformed.
    init?(_ text: String) {
        var text = text.lowercased()
        if text.hasSuffix("/") { text.removeLast() }
        guard let separator = text.range(of: "://") else { return nil }
        let scheme = String(text[..<separator.lowerBound])
        let authority = text[separator.upperBound...]
        guard !scheme.isEmpty, scheme.allSatisfy({ $0.isLetter || $0.isNumber || "+-.".contains($0) }),
              !authority.isEmpty, !authority.contains(where: { "/?#@ ".contains($0) }),
              let (host, port) = HostHeader.split(String(authority)), !host.isEmpty
        else { return nil }
        self.scheme = scheme
        self.host = host
        self.port = port == Self.defaultPort(of: scheme) ? nil : port
    }

    static func defaultPort(of scheme: String) -> Int? {
        switch scheme {
        case "http", "ws": 80
        case "https", "wss": 443
        default: nil
        }
    }

    /// The canonical text, e.g. `http://localhost:3000`.
    var serialized: String {
        let host = self.host.contains(":") ? "[\(self.host)]" : self.host
        return "\(scheme)://\(host)" + (port.map { ":\($0)" } ?? "")
    }

    /// Whether this is the origin of a page served by this server under the request's `Host`
    /// (over plain HTTP, or HTTPS through a proxy that keeps the `Host` header).
    func isServed(byHost hostHeader: String) -> Bool {
        guard scheme == "http" || scheme == "https", let (host, port) = HostHeader.split(hostHeader) else { return false }
        let defaultPort = Self.defaultPort(of: scheme)
        return host == self.host && (port ?? defaultPort) == (self.port ?? defaultPort)
    }
}

/// The parts of a `Host` header value (`host[:port]`, IPv6 in brackets).
enum HostHeader {
    /// The lowercased host (without IPv6 brackets) and the port, or `nil` when malformed.
    static func split(_ value: String) -> (host: String, port: Int?)? {
        let value = value.lowercased()
        if value.hasPrefix("[") {
            guard let close = value.firstIndex(of: "]") else { return nil }
            let host = String(value[value.index(after: value.startIndex)..<close])
            let rest = value[value.index(after: close)...]
            if rest.isEmpty { return (host, nil) }
            guard rest.hasPrefix(":"), let port = Int(rest.dropFirst()), (0...65_535).contains(port) else { return nil }
            return (host, port)
        }
        let colons = value.filter { $0 == ":" }.count
        guard colons == 1, let colon = value.firstIndex(of: ":") else { return colons == 0 ? (value, nil) : nil }
        guard let port = Int(value[value.index(after: colon)...]), (0...65_535).contains(port) else { return nil }
        return (String(value[..<colon]), port)
    }

    /// The host name of a `Host` value or of an `--allowed-hosts` entry, lowercased and without port.
    static func hostname(of value: String) -> String {
        split(value)?.host ?? value.lowercased()
    }
}
