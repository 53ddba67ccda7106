@testable import AgentHost
import ChatBridge
import Foundation
import Synchronization
import Testing

/// What instances on one PostgreSQL database share (PROTOCOL §9): run leases and their takeover,
/// the global run cap, sign-in failure counts, and the bus, each with two stores standing for two
/// instances.
extension PostgresBacked {
    @Suite("Cluster storage on PostgreSQL")
    struct ClusterStoreTests {
        private static func waitingRun(_ id: String, workspace: Int64, userId: Int64? = nil) -> RunLogBatch {
            var batch = RunLogBatch()
            batch.started = [RunRecord(id: id, kind: .agent, workspaceId: workspace, userId: userId)]
            batch.frames = [(id, [RunFrame(seq: 0, type: "tool_call",
                                           json: #"{"type":"tool_call","step":1,"call_id":"c1","name":"read","executor":"client"}"#)])]
            return batch
        }

        /// An instance keeps "some users exist" once it has seen it (users are never deleted), never
        /// "no users": a user made through another instance ends single-user mode here at once.
        @Test func aUserAddedThroughAnotherInstanceEndsSingleUserModeAtOnce() async throws {
            try await Backend.withPostgres { database in
                let a = Storage.postgres(database, instanceId: "instance-a")
                let b = Storage.postgres(database, instanceId: "instance-b")
                #expect(try await a.accounts.hasUsers() == false)
                #expect(try await a.accounts.hasUsers() == false)
                _ = try await b.accounts.createUser(User(username: "bob", passwordHash: "x"))
                #expect(try await a.accounts.hasUsers())
                #expect(try await a.accounts.hasUsers())
            }
        }

        @Test func aLiveInstancesRunsAreLeftAloneAndAReleasedOneIsTakenOverOnce() async throws {
            try await Backend.withPostgres { database in
                let a = Storage.postgres(database, instanceId: "instance-a")
                let b = Storage.postgres(database, instanceId: "instance-b")
                let leasesA = try #require(a.cluster?.leases), leasesB = try #require(b.cluster?.leases)
                let workspace = try await a.chats.createWorkspace(Workspace(name: "W", slug: ""))
                let id = UUID().uuidString.lowercased()
                try await a.invocations.createInvocation(AgentInvocation(
                    id: id, workspaceId: workspace.id!, threadId: nil, userId: nil, requestId: nil, message: "m", maxSteps: 3, clientTools: []))
                try await a.runLog.write(Self.waitingRun(id, workspace: workspace.id!))

                // A holds the lease: B's sweep (and its start-up repair) leaves the run alone.
                #expect(try await b.repair.repairUnfinishedRuns(now: Timestamp.now()).isEmpty)
                #expect(try await leasesB.owner(ofRun: id)?.instance == "instance-a")
                #expect(try await leasesB.owner(ofRun: id)?.leaseHolds == true)
                #expect(try await leasesA.renewLeases() == [id])
                #expect(try await leasesB.renewLeases().isEmpty)

                // A shuts down cleanly: B takes the waiting run over, once.
                try await leasesA.releaseLeases()
                #expect(try await leasesB.owner(ofRun: id)?.leaseHolds == false)
                #expect(try await b.repair.repairUnfinishedRuns(now: Timestamp.now()).waitingInvocations == [id])
                #expect(try await leasesB.owner(ofRun: id)?.instance == "instance-b")
                #expect(try await a.repair.repairUnfinishedRuns(now: Timestamp.now()).isEmpty)
                #expect(try await b.repair.repairUnfinishedRuns(now: Timestamp.now()).isEmpty)

                // Once ended, it has no owner.
                var end = RunLogBatch()
                end.ended = [(id, Timestamp.now())]
                try await b.runLog.write(end)
                #expect(try await leasesA.owner(ofRun: id) == nil)
            }
        }

        @Test func aRecentStreamingChatOfAnotherInstanceIsNotAnOrphan() async throws {
            try await Backend.withPostgres { database in
                let a = Storage.postgres(database, instanceId: "instance-a")
                let b = Storage.postgres(database, instanceId: "instance-b")
                let workspace = try await a.chats.createWorkspace(Workspace(name: "W", slug: ""))
                // A began a chat whose run row is not logged yet (it comes with the first batch).
                let chat = try await a.chats.beginChat(Chat(workspaceId: workspace.id!, threadId: nil, userId: nil, prompt: "p"),
                                                       dailyLimit: nil, now: Date())
                #expect(try await b.repair.repairUnfinishedRuns(now: Timestamp.now()).isEmpty)
                #expect(try await b.chats.chat(id: chat.id!, viewer: .singleUser)?.chat.status == .streaming)
                // Much later, with still no run, it is an orphan.
                let later = Timestamp.now().addingTimeInterval(PostgresStore.orphanAge + 5)
                #expect(try await b.repair.repairUnfinishedRuns(now: later).interruptedChats == [chat.id!])
            }
        }

        @Test func theRunCapHoldsAcrossInstancesUnderParallelStarts() async throws {
            try await Backend.withPostgres(maximumConnections: 20) { database in
                let a = Storage.postgres(database, instanceId: "instance-a")
                let b = Storage.postgres(database, instanceId: "instance-b")
                let leases = [try #require(a.cluster?.leases), try #require(b.cluster?.leases)]
                let workspace = try await a.chats.createWorkspace(Workspace(name: "W", slug: ""))
                let user = try await a.accounts.createUser(User(username: "u", passwordHash: "x", role: .default))
                let admitted = try await withThrowingTaskGroup(of: Bool.self) { group in
                    for index in 0..<20 {
                        group.addTask {
                            let run = RunRecord(id: UUID().uuidString, kind: .agent, workspaceId: workspace.id!, userId: user.id)
                            return try await leases[index % 2].claim(run, limit: 3) == nil
                        }
                    }
                    return try await group.reduce(0) { $0 + ($1 ? 1 : 0) }
                }
                #expect(admitted == 3)
                // A claimed run that failed to start gives its place back.
                let other = try await a.accounts.createUser(User(username: "v", passwordHash: "x", role: .default))
                let failed = RunRecord(id: UUID().uuidString, kind: .agent, workspaceId: workspace.id!, userId: other.id)
                #expect(try await leases[0].claim(failed, limit: 1) == nil)
                #expect(try await leases[1].claim(RunRecord(id: UUID().uuidString, kind: .agent, workspaceId: workspace.id!, userId: other.id),
                                                  limit: 1) == 1)
                try await leases[1].releaseClaim(failed.id)
                #expect(try await leases[1].owner(ofRun: failed.id) != nil, "only its own instance releases a claim")
                try await leases[0].releaseClaim(failed.id)
                #expect(try await leases[1].claim(RunRecord(id: UUID().uuidString, kind: .agent, workspaceId: workspace.id!, userId: other.id),
                                                  limit: 1) == nil)
                // Another user, and another kind of run, have caps of their own.
                let chat = RunRecord(id: UUID().uuidString, kind: .chat, workspaceId: workspace.id!, userId: user.id)
                #expect(try await leases[0].claim(chat, limit: 3) == nil)
                #expect(try await leases[1].claim(RunRecord(id: UUID().uuidString, kind: .agent, workspaceId: workspace.id!, userId: nil),
                                                  limit: 3) == nil)
            }
        }

        @Test func signInFailuresAreCountedByEveryInstanceInOneWindow() async throws {
            try await Backend.withPostgres { database in
                let a = try #require(Storage.postgres(database, instanceId: "a").cluster?.loginFailures)
                let b = try #require(Storage.postgres(database, instanceId: "b").cluster?.loginFailures)
                #expect(try await a.recordLoginFailure(key: "user:alice", window: .seconds(60)) == 1)
                #expect(try await b.recordLoginFailure(key: "user:alice", window: .seconds(60)) == 2)
                #expect(try await a.loginFailures(key: "user:alice", window: .seconds(60)) == 2)
                #expect(try await b.loginFailures(key: "user:bob", window: .seconds(60)) == 0)
                try await Task.sleep(for: .milliseconds(1100))
                // A new window starts once the old one is over.
                #expect(try await a.loginFailures(key: "user:alice", window: .seconds(1)) == 0)
                #expect(try await a.recordLoginFailure(key: "user:alice", window: .seconds(1)) == 1)
                try await b.clearLoginFailures(key: "user:alice")
                #expect(try await a.loginFailures(key: "user:alice", window: .seconds(60)) == 0)
            }
        }

        @Test func busMessagesOfAnySizeArriveInOrder() async throws {
            try await Backend.withPostgres { database in
                let channel = try #require(Storage.postgres(database).cluster?.channel)
                let received = Received()
                let (connections, connected) = AsyncStream<Void>.makeStream()
                let big = String(repeating: "é", count: 6_000)  // 12,000 UTF-8 bytes: beyond NOTIFY's limit
                try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask {
                        await channel.listen(connected: { connected.yield() }) { payload in
                            received.payloads.withLock { $0.append(payload) }
                        }
                    }
                    for await _ in connections { break }
                    for payload in ["one", big, "@not-a-reference", "three"] { try await channel.send(payload) }
                    for _ in 0..<100 where received.payloads.withLock({ $0.count }) < 4 { try await Task.sleep(for: .milliseconds(50)) }
                    group.cancelAll()
                }
                #expect(received.payloads.withLock { $0 } == ["one", big, "@not-a-reference", "three"])
                try await channel.deleteOldPayloads()
            }
        }
    }
}

private final class Received: Sendable {
    let payloads = Mutex<[String]>([])
}
