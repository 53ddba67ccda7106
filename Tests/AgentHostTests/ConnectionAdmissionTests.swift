import NIOCore
import NIOPosix
import Synchronization
import Testing

@testable import AgentHost

/// `--max-pending-connections`: with that many connections being set up the listener stops
/// accepting, and accepts again once half are done (issue 17: a burst of 10,000 WebSocket connects
/// left the heap at its peak, 270–300 MB instead of 130 MB).
@Suite("Connection admission")
struct ConnectionAdmissionTests {
    /// On a real listening socket: connects made while paused wait in the kernel's queue and are
    /// accepted once places are given back, and a place is given back once however it ends.
    @Test func theListenerStopsAcceptingAtTheLimitAndResumesOncePlacesAreBack() async throws {
        let admission = ConnectionAdmission(limit: 4, hold: .seconds(60))
        let children = Mutex<[(channel: any Channel, place: ConnectionAdmission.Place)]>([])
        let listener = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .childChannelInitializer { channel in
                children.withLock { $0.append((channel, admission.admit(channel))) }
                return channel.eventLoop.makeSucceededVoidFuture()
            }
            .bind(host: "127.0.0.1", port: 0).get()
        let port = try #require(listener.localAddress?.port)
        var clients: [any Channel] = []
        for _ in 0..<10 {
            clients.append(try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton).connect(host: "127.0.0.1", port: port).get())
        }
        // Four are taken, then the listener pauses (the pause reaches it on its own loop, so one
        // or two more may be taken meanwhile); the others wait in the kernel's queue.
        try await Poll.until { children.withLock { $0.count } >= 4 }
        try await Task.sleep(for: .milliseconds(300))
        let taken = children.withLock { $0.count }
        #expect(taken < 10, "the listener paused with connections still queued")
        #expect(admission.isPaused)
        #expect(try await listener.getOption(ChannelOptions.autoRead).get() == false)

        // One set up (twice: the second changes nothing), the others closed: it accepts again.
        let first = children.withLock { $0[0] }
        try await first.channel.eventLoop.submit { first.place.leave(); first.place.leave() }.get()
        #expect(admission.pending == taken - 1)
        // Closing the others gives their places back: the queued connections are taken as places
        // free up, until all ten are in.
        var closed = 1
        try await Poll.until {
            let accepted = children.withLock { Array($0[closed...]) }
            for child in accepted { try await child.channel.close() }
            closed += accepted.count
            return children.withLock { $0.count } == 10
        }
        #expect(children.withLock { $0.count } == 10)

        // The last ones taken are closed with their clients.
        for client in clients { try? await client.close() }
        try await Poll.until { admission.pending == 0 && !admission.isPaused }
        #expect(try await listener.getOption(ChannelOptions.autoRead).get())
        try await listener.close()
    }

    /// `--max-connections`: open connections count until they close, set up or not; at the limit the
    /// listener pauses, and it accepts again once a twentieth (here one) have closed.
    @Test func theListenerStopsAcceptingAtTheConnectionLimitUntilConnectionsClose() async throws {
        let admission = ConnectionAdmission(limit: 100, hold: .milliseconds(1), maxOpen: 4)
        let children = Mutex<[any Channel]>([])
        let listener = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .childChannelInitializer { channel in
                let place = admission.admit(channel)
                place.leave()  // set up at once: only the open count holds the listener
                children.withLock { $0.append(channel) }
                return channel.eventLoop.makeSucceededVoidFuture()
            }
            .bind(host: "127.0.0.1", port: 0).get()
        let port = try #require(listener.localAddress?.port)
        var clients: [any Channel] = []
        for _ in 0..<8 {
            clients.append(try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton).connect(host: "127.0.0.1", port: port).get())
        }
        try await Poll.until { children.withLock { $0.count } >= 4 }
        try await Task.sleep(for: .milliseconds(300))
        let taken = children.withLock { $0.count }
        #expect(taken < 8, "the listener paused with connections still queued")
        #expect(admission.isPaused && admission.pending == 0)
        #expect(admission.open == taken)

        // Closing accepted connections lets the queued ones in, until all eight are.
        var closed = 0
        try await Poll.until {
            let accepted = children.withLock { Array($0[closed...]) }
            for child in accepted { try await child.close() }
            closed += accepted.count
            return children.withLock { $0.count } == 8
        }
        for client in clients { try? await client.close() }
        try await Poll.until { admission.open == 0 && !admission.isPaused }
        #expect(try await listener.getOption(ChannelOptions.autoRead).get())
        try await listener.close()
    }

    /// A connection that sends nothing holds its place only for `hold`: it cannot keep the server
    /// from accepting (its request-head deadline closes it much later).
    @Test func aSilentConnectionGivesItsPlaceBackAfterTheHold() async throws {
        let admission = ConnectionAdmission(limit: 1, hold: .milliseconds(200))
        let accepted = Atomic(0)
        let listener = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .childChannelInitializer { channel in
                accepted.add(1, ordering: .relaxed)
                _ = admission.admit(channel)
                return channel.eventLoop.makeSucceededVoidFuture()
            }
            .bind(host: "127.0.0.1", port: 0).get()
        let port = try #require(listener.localAddress?.port)
        let silent = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton).connect(host: "127.0.0.1", port: port).get()
        let next = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton).connect(host: "127.0.0.1", port: port).get()
        try await Poll.until { accepted.load(ordering: .relaxed) == 2 }
        #expect(silent.isActive, "the silent connection stays open; only its place was given back")
        try await silent.close()
        try await next.close()
        try await listener.close()
    }

    /// Through the server with a limit of one: concurrent WebSocket upgrades and HTTP requests all
    /// complete, refused upgrades (an unknown workspace) give their place back, and the server still
    /// accepts afterwards.
    @Test func concurrentConnectsAllCompleteBehindALimitOfOne() async throws {
        let harness = try await TestHarness { $0.security.maxPendingConnections = 1 }
        try await harness.addWorkspace("Team")
        try await harness.testLive { client in
            let port = try #require(client.port)
            let refused = try await withThrowingTaskGroup(of: Int.self) { group in
                for _ in 0..<10 {
                    group.addTask {
                        try await RawConnection.exchange(port: port, RawConnection.upgrade("/ws/chat/nowhere/", host: "localhost")).status
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(refused.count == 10 && refused.allSatisfy { $0 != 101 }, "\(refused)")
            let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
                for index in 0..<60 {
                    group.addTask {
                        let request = index.isMultiple(of: 3)
                            ? RawConnection.request("GET", "/api/health", host: "localhost")
                            : RawConnection.upgrade("/ws/chat/team/", host: "localhost")
                        return try await RawConnection.exchange(port: port, request, timeout: .seconds(20)).status
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(statuses.filter { $0 == 101 }.count == 40 && statuses.filter { $0 == 200 }.count == 20, "\(statuses)")
            #expect(try await client.execute(uri: "/api/health", method: .get).status == .ok)
        }
    }
}
