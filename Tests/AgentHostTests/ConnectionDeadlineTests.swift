import ChatBridge
import Foundation
import HummingbirdTesting
import NIOCore
import Testing

@testable import AgentHost

/// `--http-idle-timeout` against slowloris, and what it must not cut.
@Suite("Connection deadlines")
struct ConnectionDeadlineTests {
    @Test func aRequestHeadTrickledInIsCutAfterTheIdleTimeout() async throws {
        let harness = try await TestHarness { $0.security.httpIdleTimeout = .seconds(1) }
        try await harness.testLive { client in
            let port = try #require(client.port)
            let channel = try await RawConnection.connect(port: port)
            let underlying = channel.channel
            let start = ContinuousClock.now
            var closedAfter: Duration?
            // Closing a connection the server already closed throws; the measurement is taken before.
            try? await channel.executeThenClose { inbound, outbound in
                try await outbound.write(ByteBuffer(string: "GET /api/health HTTP/1.1\r\nHost: localhost\r\nX-Slow: "))
                // One more byte every 250 ms for at most 8 s, then give up and hang up ourselves.
                let trickle = Task {
                    for _ in 0..<32 {
                        try await Task.sleep(for: .milliseconds(250))
                        guard underlying.isActive else { return }
                        try? await outbound.write(ByteBuffer(string: "a"))
                    }
                    underlying.close(promise: nil)
                }
                defer { trickle.cancel() }
                do {
                    for try await _ in inbound {}
                } catch {
                    // Reset by the server: closed all the same.
                }
                closedAfter = start.duration(to: .now)
            }
            let elapsed = try #require(closedAfter)
            #expect(elapsed < .seconds(4), "a trickled request head held the connection for \(elapsed)")
            // An ordinary request is still served (on a fresh connection: the test client's own may
            // have been closed as idle by now, which is the point). On a loaded machine this process
            // may not get to write the request within the 1 s timeout of the new connection either,
            // and the server rightly closes it first: that attempt is made again.
            var health: RawConnection.Response?
            for _ in 0..<3 where health == nil {
                do {
                    health = try await RawConnection.exchange(port: port, RawConnection.request("GET", "/api/health", host: "localhost"))
                } catch ChannelError.ioOnClosedChannel {
                    continue
                }
            }
            #expect(try #require(health, "three connections were closed before their request was written").status == 200)
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
