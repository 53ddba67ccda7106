import ArgumentParser

/// Connection settings both WebSockets (`ws/chat`, `ws/agent`) share.
struct WebSocketOptions: ParsableArguments {
    @Option(name: .customLong("ws-ping-interval"), help: "Seconds between the server's pings on an idle WebSocket; a ping unanswered for as long closes it (1001). Env: AGENTHOST_WS_PING_INTERVAL. Default: 30")
    var pingInterval: Int?

    /// Flags first, then the environment, then the defaults of ``WebSocketSettings``.
    func settings() throws -> WebSocketSettings {
        var settings = WebSocketSettings()
        if let value = try Environment.integer(pingInterval, "AGENTHOST_WS_PING_INTERVAL", in: 1...86_400) {
            settings.pingInterval = .seconds(value)
        }
        return settings
    }
}
