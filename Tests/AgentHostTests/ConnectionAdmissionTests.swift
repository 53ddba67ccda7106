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
    /// A listener on a free loopback port that hands each connection it accepts to `accepted`.
    static func listen(_ accepted: @escaping @Sendable (any Channel) -> Void) async throws -> (listener: any Channel, port: Int) {
        let listener = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .childChannelInitializer { channel in
                accepted(channel)
                return channel.eventLoop.makeSucceededVoidFuture()
            }
            .bind(host: "127.0.0.1", port: 0).get()
        return (listener, try #require(listener.localAddress?.port))
    }

    /// `count` connections to `port`, made one after another.
    static func connect(_ count: Int, to port: Int) async throws -> [any Channel] {
        var clients: [any Channel] = []
        for _ in 0..<count {
            clients.append(try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton).connect(host: "127.0.0.1", port: port).get())
        }
        return clients
    }

    /// Closes the accepted connections (from the `closed`th on) as they come, which lets the waiting
    /// ones in, until `total` have been accepted.
    static func closeAccepted(_ accepted: @escaping @Sendable () -> [any Channel], from closed: Int = 0, until total: Int) async throws {
        var closed = closed
        try await Poll.until {
            let open = Array(accepted()[closed...])
            for channel in open { try await channel.close() }
            closed += open.count
            return accepted().count == total
        }
    }

    /// On a real listening socket: connects made while paused wait in the kernel's queue and are
    /// accepted once places are given back, and a place is given back once however it ends.
    @Test func theListenerStopsAcceptingAtTheLimitAndResumesOncePlacesAreBack() async throws {
        let admission = ConnectionAdmission(limit: 4, hold: .seconds(60))
        let children = Mutex<[(channel: any Channel, place: ConnectionAdmission.Place)]>([])
        let (listener, port) = try await Self.listen { channel in
            children.withLock { $0.append((channel, admission.admit(channel))) }
        }
        let clients = try await Self.connect(10, to: port)
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
        try await Self.closeAccepted({ children.withLock { $0.map(\.channel) } }, from: 1, until: 10)
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
        let (listener, port) = try await Self.listen { channel in
            admission.admit(channel).leave()  // set up at once: only the open count holds the listener
            children.withLock { $0.append(channel) }
        }
        let clients = try await Self.connect(8, to: port)
        try await Poll.until { children.withLock { $0.count } >= 4 }
        try await Task.sleep(for: .milliseconds(300))
        let taken = children.withLock { $0.count }
        #expect(taken < 8, "the listener paused with connections still queued")
        #expect(admission.isPaused && admission.pending == 0)
        #expect(admission.open == taken)

        // Closing accepted connections lets the queued ones in, until all eight are.
        try await Self.closeAccepted({ children.withLock { $0 } }, until: 8)
        for client in clients { try? await client.close() }
        try await Poll.until { admission.open == 0 && !admission.isPaused }
        #expect(try await listener.getOption(ChannelOptions.autoRead).get())
        try await listener.close()
    }

    /// Both limits reached together: giving back every place being set up must not resume the
    /// listener while the open connections are still at their limit; it accepts again only once
    /// enough of them have closed.
    @Test func theListenerStaysPausedWhileEitherLimitHolds() async throws {
        let admission = ConnectionAdmission(limit: 2, hold: .seconds(60), maxOpen: 2)
        let children = Mutex<[(channel: any Channel, place: ConnectionAdmission.Place)]>([])
        let (listener, port) = try await Self.listen { channel in
            children.withLock { $0.append((channel, admission.admit(channel))) }
        }
        let clients = try await Self.connect(6, to: port)
        // The second connection reaches both limits (a third may slip in before the pause lands).
        try await Poll.until { children.withLock { $0.count } >= 2 }
        try await Task.sleep(for: .milliseconds(300))
        let taken = children.withLock { $0.count }
        #expect(taken < 6 && admission.isPaused)

        // Every place given back: the pending limit no longer holds, the open one still does.
        for child in children.withLock({ $0 }) {
            try await child.channel.eventLoop.submit { child.place.leave() }.get()
        }
        #expect(admission.pending == 0 && admission.open == taken)
        try await Task.sleep(for: .milliseconds(300))
        #expect(admission.isPaused)
        #expect(try await listener.getOption(ChannelOptions.autoRead).get() == false)
        #expect(children.withLock { $0.count } == taken, "no connection was accepted while the open limit held")

        // Closing connections lets the waiting ones in, until all six are.
        try await Self.closeAccepted({ children.withLock { $0.map(\.channel) } }, until: 6)
        for client in clients { try? await client.close() }
        try await Poll.until { admission.open == 0 && admission.pending == 0 && !admission.isPaused }
        #expect(try await listener.getOption(ChannelOptions.autoRead).get())
        try await listener.close()
    }

    /// A connection that sends nothing holds its place only for `hold`: it cannot keep the server
    /// from accepting (its request-head deadline closes it much later).
    @Test func aSilentConnectionGivesItsPlaceBackAfterTheHold() async throws {
        let admission = ConnectionAdmission(limit: 1, hold: .milliseconds(200))
        let accepted = Atomic(0)
        let (listener, port) = try await Self.listen { channel in
            accepted.add(1, ordering: .relaxed)
            _ = admission.admit(channel)
        }
        let clients = try await Self.connect(2, to: port)
        let (silent, next) = (clients[0], clients[1])
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
