import Foundation
import Logging
import MCP
import Synchronization

/// MCP's stdio transport (newline-delimited JSON-RPC) over a child process's pipes.
///
/// Written instead of using the SDK's `StdioTransport` because that one ends its message stream
/// without an error at end of file, after which the SDK's client loop asks for the (finished)
/// stream again and again: a busy loop for every crashed server. Here end of file fails the
/// stream, which ends the client's loop; reads block on a thread of their own (``PipeReader``)
/// rather than the SDK's 10 ms poll.
actor MCPStdioTransport: Transport {
    nonisolated let logger: Logger
    private let toChild: FileHandle
    private let fromChild: FileHandle
    private let messages: AsyncThrowingStream<Data, any Error>
    private let continuation: AsyncThrowingStream<Data, any Error>.Continuation
    private var isConnected = false

    init(toChild: FileHandle, fromChild: FileHandle, logger: Logger) {
        self.toChild = toChild
        self.fromChild = fromChild
        self.logger = logger
        (messages, continuation) = AsyncThrowingStream.makeStream()
    }

    func connect() async throws {
        guard !isConnected else { return }
        isConnected = true
        let continuation = continuation
        let framer = LineFramer()
        PipeReader.start(fromChild, name: "mcp-stdout") { data in
            for line in framer.append(data) { continuation.yield(line) }
        } onEnd: {
            continuation.finish(throwing: MCPTransportError("the server closed its output (it exited)"))
        }
    }

    func disconnect() async {
        guard isConnected else { return }
        isConnected = false
        continuation.finish(throwing: MCPTransportError("disconnected"))
        // End of input asks a well-behaved server to exit.
        try? toChild.close()
    }

    func send(_ data: Data) async throws {
        guard isConnected else { throw MCPTransportError("not connected") }
        do {
            // SIGPIPE is ignored (MCPClientManager), so a dead child makes this throw EPIPE.
            try toChild.write(contentsOf: data + Data([UInt8(ascii: "\n")]))
        } catch {
            throw MCPTransportError("writing to the server failed: \(error)")
        }
    }

    nonisolated func receive() -> AsyncThrowingStream<Data, any Error> {
        messages
    }
}

/// Splits a byte stream into its non-empty lines.
final class LineFramer: Sendable {
    private let pending = Mutex(Data())

    func append(_ data: Data) -> [Data] {
        pending.withLock { buffer in
            buffer.append(data)
            var lines: [Data] = []
            while let newline = buffer.firstIndex(of: UInt8(ascii: "\n")) {
                let line = buffer[buffer.startIndex..<newline]
                buffer = Data(buffer[buffer.index(after: newline)...])
                if !line.isEmpty, line != Data([UInt8(ascii: "\r")]) { lines.append(Data(line)) }
            }
            return lines
        }
    }
}
