import ArgumentParser

/// Limits of `ws/chat` connections.
struct ChatSocketOptions: ParsableArguments {
    @Option(name: .customLong("ws-chat-max-message-bytes"), help: "Largest ws/chat message; a larger one gets too_large. Env: AGENTHOST_WS_CHAT_MAX_MESSAGE_BYTES. Default: 8388608")
    var maxMessageBytes: Int?

    @Option(name: .customLong("ws-chat-outbound-buffer"), help: "Frames a ws/chat connection may have queued before it is closed as too slow (4001, resumable). Env: AGENTHOST_WS_CHAT_OUTBOUND_BUFFER. Default: 1024")
    var outboundBuffer: Int?

    @Option(name: .customLong("ws-chat-retention"), help: "Seconds a finished ws/chat generation stays replayable for resume. Env: AGENTHOST_WS_CHAT_RETENTION. Default: 120")
    var retention: Int?

    /// Flags first, then the environment, then the defaults of ``ChatSocketLimits``.
    func limits() throws -> ChatSocketLimits {
        var limits = ChatSocketLimits()
        if let value = try Environment.integer(maxMessageBytes, "AGENTHOST_WS_CHAT_MAX_MESSAGE_BYTES", in: 1024...(64 << 20)) {
            limits.maxFrameBytes = value
        }
        if let value = try Environment.integer(outboundBuffer, "AGENTHOST_WS_CHAT_OUTBOUND_BUFFER", in: 16...1_000_000) {
            limits.outboundBuffer = value
        }
        if let value = try Environment.integer(retention, "AGENTHOST_WS_CHAT_RETENTION", in: 0...86_400) {
            limits.generationRetention = .seconds(value)
        }
        return limits
    }
}
