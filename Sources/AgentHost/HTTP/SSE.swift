import ChatBridge
import Hummingbird
import NIOCore

/// Server-sent events: framing, the response, and the writer of an ``Outbox``.
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

    /// How a stream written by ``write(_:keepAlive:to:)`` ended.
    enum Ending {
        /// The outbox finished: the run ended (or the producer said so).
        case finished
        /// The client fell too far behind and was cut off; it can pick the run up again from the
        /// last `id:` it got (`GET …/events?after_seq=`).
        case tooSlow
    }

    /// Writes the outbox until it finishes: a run frame as `event: <type>` / `id: <seq>` /
    /// `data: <json>`, a connection frame as a bare `data:` line, and a keep-alive comment every
    /// `keepAlive`, so idle proxies keep the stream open while the model thinks. Everything queued
    /// goes out in one write. Throws when the client went away.
    static func write(_ outbox: Outbox, keepAlive: Duration, to writer: inout any ResponseBodyWriter) async throws -> Ending {
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                while true {
                    try await Task.sleep(for: keepAlive)
                    outbox.deliver(.keepAlive)
                }
            }
            defer { group.cancelAll() }
            var buffer = ByteBuffer()
            while let frames = await outbox.next() {
                buffer.clear()
                for frame in frames { encode(frame, into: &buffer) }
                if buffer.readableBytes > 0 { try await writer.write(buffer) }
            }
            return outbox.isTooSlow ? .tooSlow : .finished
        }
    }

    /// One frame as SSE: a run frame with its `event:` and `id:`, a connection frame as a bare `data:` line.
    static func encode(_ frame: OutboundFrame, into buffer: inout ByteBuffer) {
        switch frame {
        case .run(let frame):
            buffer.writeString("event: ")
            buffer.writeString(frame.type)
            buffer.writeString("\nid: ")
            buffer.writeString(String(frame.seq))
            buffer.writeString("\ndata: ")
            buffer.writeString(frame.json)
            buffer.writeString("\n\n")
        case .message(let text):
            buffer.writeString("data: ")
            buffer.writeString(text)
            buffer.writeString("\n\n")
        case .keepAlive:
            buffer.writeString(": keep-alive\n\n")
        }
    }
}
