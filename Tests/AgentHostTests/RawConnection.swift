import ChatBridge
import NIOCore
import NIOPosix

/// A plain TCP connection to a test server, for requests an HTTP client would not send as written
/// (a forged `Host`, a WebSocket upgrade from a foreign `Origin`, a request head sent byte by byte).
enum RawConnection {
    struct Response {
        var status: Int
        /// Header names lowercased.
        var headers: [String: String]
        var body: String
        var json: JSONValue? { try? JSONValue(parsing: Array(body.utf8)) }
        var errorCode: String? { json?["error"]?["code"]?.stringValue }
    }

    static func connect(port: Int) async throws -> NIOAsyncChannel<ByteBuffer, ByteBuffer> {
        try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connect(host: "127.0.0.1", port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                }
            }
    }

    /// Sends `request` as is and reads until the server closes the connection, at most `timeout`
    /// (then the connection is closed from this side), or until a response with a `Content-Length`
    /// or a WebSocket upgrade answer (101) is complete.
    static func exchange(port: Int, _ request: String, timeout: TimeAmount = .seconds(5)) async throws -> Response {
        let channel = try await connect(port: port)
        let underlying = channel.channel
        let watchdog = underlying.eventLoop.scheduleTask(in: timeout) { underlying.close(promise: nil) }
        defer { watchdog.cancel() }
        let bytes: [UInt8] = try await channel.executeThenClose { inbound, outbound in
            try await outbound.write(ByteBuffer(string: request))
            var bytes: [UInt8] = []
            do {
                for try await buffer in inbound {
                    bytes += buffer.readableBytesView
                    if let response = try? parse(String(decoding: bytes, as: UTF8.self)),
                       response.status == 101 || response.headers["content-length"].flatMap(Int.init).map({ response.body.utf8.count >= $0 }) == true {
                        break
                    }
                }
            } catch {
                // A reset after the answer: keep what arrived.
            }
            return bytes
        }
        return try parse(String(decoding: bytes, as: UTF8.self))
    }

    struct Malformed: Error { let text: String }

    static func parse(_ text: String) throws -> Response {
        guard let headEnd = text.range(of: "\r\n\r\n") else { throw Malformed(text: text) }
        let lines = text[..<headEnd.lowerBound].components(separatedBy: "\r\n")
        let statusParts = lines[0].split(separator: " ")
        guard statusParts.count >= 2, let status = Int(statusParts[1]) else { throw Malformed(text: text) }
        var headers: [String: String] = [:]
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        return Response(status: status, headers: headers, body: String(text[headEnd.upperBound...]))
    }

    /// An HTTP/1.1 request with `Connection: close`.
    static func request(
        _ method: String, _ path: String, host: String, headers: [(String, String)] = [], body: String? = nil
    ) -> String {
        var text = "\(method) \(path) HTTP/1.1\r\nHost: \(host)\r\nConnection: close\r\n"
        for (name, value) in headers { text += "\(name): \(value)\r\n" }
        if let body { text += "Content-Length: \(body.utf8.count)\r\n" }
        return text + "\r\n" + (body ?? "")
    }

    /// A WebSocket upgrade request.
    static func upgrade(_ path: String, host: String, headers: [(String, String)] = []) -> String {
        request("GET", path, host: host, headers: [
            ("Upgrade", "websocket"), ("Connection", "Upgrade"), ("Sec-WebSocket-Version", "13"),
            ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="),
        ] + headers).replacingOccurrences(of: "Connection: close\r\n", with: "")
    }

    /// Server frames (unmasked, payloads under 64 KB) after the 101 response head.
    static func serverFrames(after bytes: [UInt8]) throws -> [(opcode: UInt8, payload: [UInt8])] {
        let head = Array("\r\n\r\n".utf8)
        guard let end = (0...(bytes.count - head.count)).first(where: { Array(bytes[$0..<($0 + head.count)]) == head }) else {
            throw RawConnection.Malformed(text: String(decoding: bytes, as: UTF8.self))
        }
        var frames: [(opcode: UInt8, payload: [UInt8])] = []
        var index = end + head.count
        // Bounded by the bytes received: every step consumes at least two.
        while index + 2 <= bytes.count {
            let opcode = bytes[index] & 0x0F
            let length = Int(bytes[index + 1] & 0x7F)
            var start = index + 2
            var size = length
            if length == 126 {
                guard start + 2 <= bytes.count else { break }
                size = Int(bytes[start]) << 8 | Int(bytes[start + 1])
                start += 2
            } else if length == 127 {
                break  // no server frame in these tests is that large
            }
            guard start + size <= bytes.count else { break }
            frames.append((opcode, Array(bytes[start..<(start + size)])))
            index = start + size
        }
        return frames
    }
}
