/// Connection settings both WebSockets share.
struct WebSocketSettings: Sendable {
    /// How often the server pings a connection; a ping still unanswered one interval later closes it.
    var pingInterval: Duration = .seconds(30)
}
