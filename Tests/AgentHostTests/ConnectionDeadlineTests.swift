import ChatBridge
import Foundation
import HummingbirdTesting
import NIOCore
import NIOPosix
import Testing

@testable import AgentHost

/// `--http-idle-timeout` against slowloris, and what it must not cut; `--max-connections` against a
/// flood of connections.
@Suite("Connection deadlines")
struct ConnectionDeadlineTests {
    /// More connections than the process has file descriptors: the server stops accepting at
    /// `--max-connections` (by default what the descriptor limit leaves room for), spends no CPU on
    /// the connections waiting in the kernel's queue, and serves again once enough have closed.
    /// Without the limit it ran out of descriptors and retried `accept` in a busy loop, a core at
    /// 100% for as long as the flood lasted.
    @Test func aFloodOfConnectionsStopsAtTheConnectionLimitWithoutSpinning() async throws {
        let directory = try ServerProcess.temporaryDataDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let descriptors = 400
        // No model is called: the upstream address only has to be well-formed.
        let server = try await ServerProcess.start(dataDirectory: directory, upstream: "http://127.0.0.1:9",
                                                   fileDescriptorLimit: descriptors)
        defer { server.forceKill() }
        let limit = FileDescriptorLimit.connections(within: descriptors)
        #expect(server.log.contains("max_connections=\(limit)"), "\(server.log)")

        var clients: [any Channel] = []
        defer { for client in clients { client.close(promise: nil) } }
        for _ in 0..<(descriptors + 50) {
            clients.append(try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .connect(host: "127.0.0.1", port: server.port).get())
        }
        try await Poll.until(timeout: .seconds(10)) { server.log.contains("connection limit reached") }

        func cpuSeconds() throws -> Double {
            let stat = try String(contentsOfFile: "/proc/\(server.pid)/stat", encoding: .utf8)
            let fields = stat[stat.index(after: try #require(stat.lastIndex(of: ")")))...].split(separator: " ")
            // utime and stime, fields 14 and 15 of the line, in clock ticks.
            return (Double(fields[11])! + Double(fields[12])!) / Double(sysconf(Int32(_SC_CLK_TCK)))
        }
        let before = try cpuSeconds()
        try await Task.sleep(for: .seconds(2))
        let spent = try cpuSeconds() - before
        #expect(spent < 0.3, "the server spent \(spent) s of CPU in 2 s with connections queued beyond its limit")
        #expect(server.process.isRunning)

        // The first connections were accepted; closing most leaves fewer than the limit, queued ones
        // included, so the listener accepts again and a new request is served.
        for client in clients[..<(clients.count - 100)] { try? await client.close() }
        // On a new connection (the test client's pooled one was accepted before the flood).
        let health = try await RawConnection.exchange(port: server.port, "GET /api/health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
                                                      timeout: .seconds(10))
        #expect(health.status == 200)
        try await Poll.until(timeout: .seconds(10)) { server.log.contains("accepting connections again") }
        #expect(server.process.isRunning)
    }

    /// How long after `send` started the server closed `channel` (reading and dropping what it sends);
    /// a task `send` returns is cancelled then. `nil` if the connection could not be used.
    static func timeUntilClosed(_ channel: NIOAsyncChannel<ByteBuffer, ByteBuffer>,
                                send: @escaping (NIOAsyncChannelOutboundWriter<ByteBuffer>) async throws -> Task<Void, any Error>?)
        async -> Duration? {
        let start = ContinuousClock.now
        var closedAfter: Duration?
        // Closing a connection the server already closed throws; the measurement is taken before.
        try? await channel.executeThenClose { inbound, outbound in
            let sending = try await send(outbound)
            defer { sending?.cancel() }
            do {
                for try await _ in inbound {}
            } catch {
                // Reset by the server: closed all the same.
            }
            closedAfter = start.duration(to: .now)
        }
        return closedAfter
    }

    /// `GET /api/health`'s status on a fresh connection. On a loaded machine this process may not
    /// write the request within a short idle timeout, and the server rightly closes the connection
    /// first: that attempt is made again, up to three times.
    static func health(port: Int) async throws -> Int {
        for _ in 0..<3 {
            do {
                return try await RawConnection.exchange(port: port, RawConnection.request("GET", "/api/health", host: "localhost")).status
            } catch ChannelError.ioOnClosedChannel {
                continue
            }
        }
        Issue.record("three connections were closed before their request was written")
        return 0
    }

    @Test func aRequestHeadTrickledInIsCutAfterTheIdleTimeout() async throws {
        let harness = try await TestHarness { $0.security.httpIdleTimeout = .seconds(1) }
        try await harness.testLive { client in
            let port = try #require(client.port)
            let channel = try await RawConnection.connect(port: port)
            let underlying = channel.channel
            let elapsed = try #require(await Self.timeUntilClosed(channel) { outbound in
                try await outbound.write(ByteBuffer(string: "GET /api/health HTTP/1.1\r\nHost: localhost\r\nX-Slow: "))
                // One more byte every 250 ms for at most 8 s, then give up and hang up ourselves.
                return Task {
                    for _ in 0..<32 {
                        try await Task.sleep(for: .milliseconds(250))
                        guard underlying.isActive else { return }
                        try? await outbound.write(ByteBuffer(string: "a"))
                    }
                    underlying.close(promise: nil)
                }
            })
            #expect(elapsed < .seconds(4), "a trickled request head held the connection for \(elapsed)")
            // An ordinary request is still served, on a fresh connection (the test client's own may
            // have been closed as idle by now, which is the point).
            #expect(try await Self.health(port: port) == 200)
        }
    }

    /// A head the parser refuses, complete with its blank line, is closed after the idle timeout: the
    /// head deadline has left by then, and it stayed open (counting against the connection limit) for ever.
    @Test(arguments: ["GARBAGE\r\n\r\n", "GET / HTTP/9.9\r\nHost: localhost\r\n\r\n", "GET / HTTP/1.1\r\nBad Name: x\r\n\r\n"])
    func anUnreadableRequestHeadIsClosed(_ head: String) async throws {
        let harness = try await TestHarness { $0.security.httpIdleTimeout = .seconds(1) }
        try await harness.testLive { client in
            let port = try #require(client.port)
            let channel = try await RawConnection.connect(port: port)
            let underlying = channel.channel
            let giveUp = underlying.eventLoop.scheduleTask(in: .seconds(15)) { underlying.close(promise: nil) }
            defer { giveUp.cancel() }
            let elapsed = try #require(await Self.timeUntilClosed(channel) { outbound in
                try await outbound.write(ByteBuffer(string: head))
                return nil
            })
            #expect(elapsed < .seconds(5), "an unreadable head held the connection for \(elapsed)")
            // The server still serves.
            #expect(try await Self.health(port: port) == 200)
        }
    }

    @Test func webSocketsAndIdleKeepAliveAreNotCutWhileInUse() async throws {
        let harness = try await TestHarness { $0.security.httpIdleTimeout = .seconds(1) }
        try await harness.addWorkspace("Ops")
        try await harness.testLive { client in
            try await client.agentSocket("ops") { socket in
                try await Task.sleep(for: .milliseconds(2500))
                try await socket.send(["type": "ping"])
                #expect(try await socket.next().type == "pong")
            }
        }
    }
}
