import NIOCore

/// The shape of every server WebSocket (`ws/chat`, `ws/agent`): a writer and a reader that end
/// together.
enum WebSocketConnection {
    /// Runs `write` in a child task and `read` in the calling task until either ends.
    ///
    /// The reader runs in the connection's own task rather than a second child: an open connection
    /// keeps every task it has for as long as it is open, each with the deepest stack it reached
    /// (the task allocator frees its slabs only when the task ends), which is most of what an idle
    /// connection costs. When `read` ends (the client left) the writer is cancelled; when `write`
    /// ends first (the client was too slow, or a write failed) the channel is closed, which ends
    /// `read`.
    static func serve(channel: any Channel, write: @escaping @Sendable () async throws -> Void,
                      read: () async throws -> Void) async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                do {
                    try await write()
                } catch {
                    if !(error is CancellationError) || !Task.isCancelled { try? await channel.close() }
                    throw error
                }
                try? await channel.close()
            }
            defer { group.cancelAll() }
            try await read()
        }
    }
}
