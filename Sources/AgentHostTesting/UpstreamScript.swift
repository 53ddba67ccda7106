/// One scripted upstream response: a status and the body, piece by piece, with pauses between.
public struct UpstreamScript: Sendable {
    /// One step of writing the response.
    public enum Part: Sendable {
        /// Bytes written as they are.
        case bytes(String)
        /// A wait before the next part.
        case pause(Duration)
        /// Stops writing without ending the response, like a hung model server.
        case stall
        /// Closes the connection mid-response, after what was written so far reached the socket,
        /// like a model server that crashed or a proxy that cut the stream.
        case close
        /// Bytes made at the moment they are written (e.g. stamped with the time, to measure latency).
        case generated(@Sendable () -> String)
    }

    /// The HTTP status; a 200 is sent as `text/event-stream`, any other as `application/json`.
    public var status: Int = 200
    /// Extra response headers (e.g. `Retry-After`).
    public var headers: [String: String] = [:]
    /// The body, written in order.
    public var parts: [Part]

    public init(status: Int = 200, headers: [String: String] = [:], parts: [Part]) {
        self.status = status
        self.headers = headers
        self.parts = parts
    }

    /// A plain JSON error response, as vendors send for 4xx/5xx.
    public static func error(status: Int, message: String, headers: [String: String] = [:]) -> UpstreamScript {
        UpstreamScript(status: status, headers: headers,
                       parts: [.bytes(#"{"error":{"message":"\#(message)","type":"test_error"}}"#)])
    }

    /// The script up to its `count`-th part, then a cut connection instead of the rest.
    public func closing(afterParts count: Int) -> UpstreamScript {
        var copy = self
        copy.parts = Array(parts.prefix(count)) + [.close]
        return copy
    }

    /// Inserts `pause` between consecutive parts.
    public func paced(_ pause: Duration) -> UpstreamScript {
        var copy = self
        copy.parts = parts.flatMap { [$0, .pause(pause)] }.dropLast()
        return copy
    }
}
