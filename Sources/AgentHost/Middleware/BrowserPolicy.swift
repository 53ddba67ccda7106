import ChatBridge
import Hummingbird

/// Which browsers may talk to the server (PROTOCOL §2): the `Origin` must be the server's own or
/// listed in `--allowed-origins`, and in single-user mode the `Host` must be this machine or listed
/// in `--allowed-hosts`. Requests without those headers (non-browser clients) are unaffected.
struct BrowserPolicy: Sendable {
    let allowedOrigins: [WebOrigin]
    let allowedHosts: Set<String>

    init(settings: SecuritySettings) {
        allowedOrigins = settings.allowedOrigins.compactMap(WebOrigin.init)
        allowedHosts = Set(settings.allowedHosts)
    }

    /// Whether `origin` is one of `--allowed-origins` (these, and only these, get CORS headers).
    func isListed(origin: String) -> Bool {
        guard let origin = WebOrigin(origin) else { return false }
        return allowedOrigins.contains(origin)
    }

    /// Refuses a request from a page of a foreign origin with `403 forbidden`.
    func checkOrigin(of request: Request) throws {
        guard let value = request.headers[.origin] else { return }
        if let origin = WebOrigin(value) {
            // A page's origin is never ws: or wss:, so such an Origin comes from a non-browser client
            // (swift-websocket's WSClient sends `ws://host`), which the rules leave alone.
            if origin.scheme == "ws" || origin.scheme == "wss" { return }
            if allowedOrigins.contains(origin) || request.head.authority.map(origin.isServed(byHost:)) == true { return }
        }
        throw APIError.forbidden(
            "Requests from the web origin '\(value)' are not allowed. To allow a site, start the server with "
                + "--allowed-origins (AGENTHOST_ALLOWED_ORIGINS), e.g. --allowed-origins http://localhost:3000.")
    }

    /// Whether the `Host` header (if any) names this machine or an allowed host, which is what a
    /// DNS-rebinding page cannot send.
    func isTrusted(host value: String?) -> Bool {
        guard let value else { return true }
        let host = HostHeader.hostname(of: value)
        return LoopbackAddress.contains(host) || allowedHosts.contains(host)
    }

    /// The error for an untrusted `Host` in single-user mode.
    static func foreignHost(_ value: String) -> APIError {
        APIError.forbidden(
            "The Host '\(value)' is not accepted without authentication: use a loopback address or localhost, "
                + "or list the name with --allowed-hosts (AGENTHOST_ALLOWED_HOSTS).")
    }
}
