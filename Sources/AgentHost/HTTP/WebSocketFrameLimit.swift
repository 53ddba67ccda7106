extension Configuration {
    /// The largest single WebSocket frame the server reads (NIO's frame decoder buffers a frame
    /// whole). Above every socket's message limit, with room to spare, so that an oversize message
    /// is read (and counted, not kept) and answered with a `too_large` frame on an open socket; only
    /// a single frame beyond this is a protocol violation that closes the connection (1009).
    var webSocketMaxFrameSize: Int {
        max(chatSocket.maxFrameBytes, agent.maxFrameBytes) + (1 << 20)
    }
}
