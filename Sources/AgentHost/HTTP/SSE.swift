import ChatBridge
import Hummingbird
import NIOCore

/// Server-sent events: framing, the response, and a writer loop with keep-alive and back-pressure.
enum SSE {
    /// A `text/event-stream` response whose body `write` produces.
    static func response(_ write: @escaping @Sendable (inout any ResponseBodyWriter) async throws -> Void) -> Response {
        Response(
            status: .ok,
            headers: [.contentType: "text/event-stream; charset=utf-8", .cacheControl: "no-cache",
                      .init("X-Accel-Buffering")!: "no"],
            body: ResponseBody { writer in
                try await write(&writer)
                try await writer.finish(nil)
            }
        )
    }

    /// `event: <type>\nid: <id>\ndata: <json>\n\n`.
    static func event(type: String, id: Int, data: JSONValue) -> ByteBuffer {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(128)
        bytes.append(contentsOf: "event: \(type)\nid: \(id)\ndata: ".utf8)
        data.write(to: &bytes)
        bytes.append(contentsOf: [0x0A, 0x0A])
        return ByteBuffer(bytes: bytes)
    }

    static let keepAliveComment = ByteBuffer(string: ": keep-alive\n\n")

    /// Runs `produce` and writes what it sends, adding a keep-alive comment whenever nothing was
    /// sent for `keepAlive`. What is sent while a write is in flight goes out with the next write,
    /// and `send` suspends while more than 64 KiB wait, so a slow client slows the producer. When the
    /// client goes away the producer is cancelled.
    static func stream(
        keepAlive: Duration, to writer: inout any ResponseBodyWriter,
        produce: @escaping @Sendable (_ send: @escaping @Sendable (ByteBuffer) async -> Void) async -> Void
    ) async throws {
        let buffer = OutboundBuffer()
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                await produce { await buffer.send($0) }
                buffer.finish()
            }
            group.addTask {
                while true {
                    try await Task.sleep(for: keepAlive)
                    await buffer.send(keepAliveComment)
                }
            }
            do {
                while let bytes = await buffer.next() {
                    try await writer.write(bytes)
                }
            } catch {
                // The client left: stop producing (the producer stores what it has) and end quietly.
                group.cancelAll()
                buffer.finish()
                try? await group.next()
                try? await group.next()
                throw error
            }
            group.cancelAll()
        }
    }
}
