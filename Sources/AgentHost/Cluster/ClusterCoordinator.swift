import ChatBridge
import Foundation
import Logging
import Synchronization

/// This instance's side of the cluster (PROTOCOL §9): it follows runs other instances execute,
/// forwards commands to their owners and waits for the answers, and carries room frames.
///
/// Followed runs are ``LiveRun``s fed from the run log instead of by a producer
/// (``LiveRun/mirror(_:ended:)``): watchers attach, replay, get outstanding requests again and go
/// live exactly as with a run of this process. A follower re-reads the log when the owner's log
/// writer says the run has new frames (``BusMessage/runProgress(runIds:)``), and every
/// ``ClusterSettings/followPollInterval`` in case a notification was lost.
final class ClusterCoordinator: ClusterPeers {
    let instanceId: String
    let leases: any RunLeaseStore
    let channel: any BusChannel
    let store: any RunLogStore
    /// Followed runs log through it once this instance takes them over.
    let log: RunLogWriter
    let settings: ClusterSettings
    let logger: Logger

    private struct Followed {
        let run: LiveRun
        var refreshing = false
        var again = false
    }

    private let followed = Mutex<[String: Followed]>([:])
    /// Wakes the takeover sweep early: an instance released its leases, or a command found its run's lease expired.
    let takeOverSoon = Wakeup()
    private let replies = Mutex<[String: ReplySlot]>([:])

    /// A forwarded command's answer: awaited (with the waiter once it waits), or arrived first.
    private enum ReplySlot {
        case waiting(CheckedContinuation<CommandReply?, Never>?)
        case arrived(CommandReply?)
    }

    init(backplane: ClusterBackplane, store: any RunLogStore, log: RunLogWriter, settings: ClusterSettings, logger: Logger) {
        instanceId = backplane.leases.instanceId
        leases = backplane.leases
        channel = backplane.channel
        self.store = store
        self.log = log
        self.settings = settings
        self.logger = logger
    }

    // MARK: Following

    func follow(_ record: RunRecord, room: RoomKey?) async throws -> LiveRun? {
        guard record.endedAt == nil else { return nil }
        if let run = followed.withLock({ $0[record.id]?.run }) { return run }
        guard let owner = try await leases.owner(ofRun: record.id), owner.instance != instanceId else { return nil }
        let frames = try await store.frames(ofRun: record.id, after: -1, limit: .max)
        let outstanding = record.kind == .agent ? AgentLogState(frames: frames).pendingFrames : [:]
        let candidate = LiveRun(record: record, room: room, log: log, restoring: frames, outstanding: outstanding)
        let run = followed.withLock { followed in
            if let existing = followed[record.id] { return existing.run }
            followed[record.id] = Followed(run: candidate)
            return candidate
        }
        // Frames logged between the read above and the registration had no follower to notify.
        await refresh(record.id)
        return run
    }

    func stopFollowing(_ id: String) -> LiveRun? {
        followed.withLock { $0.removeValue(forKey: id)?.run }
    }

    /// Brings followed runs up to date with the log (all of them when `ids` is `nil`).
    func refresh(_ ids: [String]? = nil) async {
        let targets = ids ?? followed.withLock { Array($0.keys) }
        await withDiscardingTaskGroup { group in
            for id in targets where followed.withLock({ $0[id] != nil }) {
                group.addTask { await self.refresh(id) }
            }
        }
    }

    /// One refresh at a time per run: a request during one makes it go round once more.
    private func refresh(_ id: String) async {
        let claimed = followed.withLock { followed -> LiveRun? in
            guard var entry = followed[id] else { return nil }
            if entry.refreshing {
                entry.again = true
                followed[id] = entry
                return nil
            }
            entry.refreshing = true
            followed[id] = entry
            return entry.run
        }
        guard let run = claimed else { return }
        while true {
            do {
                // The row first: a run that has ended has all its frames logged.
                let ended = try await store.run(id: id, viewer: .singleUser)?.endedAt != nil
                let frames = try await store.frames(ofRun: id, after: run.lastSeq, limit: .max)
                run.mirror(frames, ended: ended)
            } catch {
                logger.warning("reading a followed run's log failed", metadata: ["run_id": "\(id)", "error": "\(error)"])
            }
            let again = followed.withLock { followed -> Bool in
                guard var entry = followed[id] else { return false }
                entry.refreshing = entry.again
                entry.again = false
                followed[id] = entry
                return entry.refreshing
            }
            if !again { return }
        }
    }

    /// Polls followed runs and forgets those that ended or that nobody watches, until cancelled.
    func maintainFollowedRuns() async {
        while !Task.isCancelled {
            try? await Task.sleep(for: settings.followPollInterval)
            // An ended run is read from the log from now on (its watchers keep the copy they hold); one
            // nobody has watched for a minute is read again from the log if someone comes back.
            followed.withLock { followed in
                followed = followed.filter { _, entry in !entry.run.isFinished && !entry.run.isAbandoned(grace: .seconds(60)) }
            }
            await refresh(followed.withLock { $0.filter { !$0.value.run.isFinished }.map(\.key) })
        }
    }

    var followedCount: Int { followed.withLock { $0.count } }

    // MARK: Commands

    func forward(_ command: RunCommand, toRun runId: String) async throws {
        guard let (owner, leaseHolds) = try await leases.owner(ofRun: runId), owner != instanceId else {
            throw APIError.notFound("Live run '\(runId)'")
        }
        guard leaseHolds else {
            // Its instance stopped renewing the lease: take the run over now rather than at the next sweep.
            takeOverSoon.signal()
            throw APIError(.overloaded, "The instance running '\(runId)' stopped; the run is being taken over. Retry shortly.",
                           details: ["retry_after": .int(1)])
        }
        let id = UUID.random().uuidString.lowercased()
        // The slot exists before the command leaves, so a reply that beats the waiter is kept.
        replies.withLock { $0[id] = .waiting(nil) }
        await send(.command(ForwardedCommand(id: id, to: owner, runId: runId, command: command)))
        let timeout = settings.forwardTimeout
        let reply: CommandReply? = await withTaskGroup(of: CommandReply?.self) { group in
            group.addTask {
                await withCheckedContinuation { continuation in
                    let early = self.replies.withLock { replies -> CommandReply?? in
                        switch replies[id] {
                        case .arrived(let reply)?:
                            replies[id] = nil
                            return .some(reply)
                        case nil:
                            return .some(nil)
                        case .waiting?:
                            replies[id] = .waiting(continuation)
                            return nil
                        }
                    }
                    if let early { continuation.resume(returning: early) }
                }
            }
            group.addTask {
                try? await Task.sleep(for: timeout)
                self.settle(id, with: nil)
                return nil
            }
            let first = await group.next() ?? nil
            group.cancelAll()
            return first
        }
        replies.withLock { _ = $0.removeValue(forKey: id) }
        guard let reply else {
            throw APIError(.overloaded, "The instance running '\(runId)' did not answer in time; retry shortly.",
                           details: ["retry_after": .int(1)])
        }
        if let refused = reply.error { throw refused.apiError }
    }

    /// Hands a reply to the forward waiting for it.
    func resolve(_ reply: CommandReply) {
        settle(reply.id, with: reply)
    }

    /// `nil` is a timeout.
    private func settle(_ id: String, with reply: CommandReply?) {
        let waiter = replies.withLock { replies -> CheckedContinuation<CommandReply?, Never>? in
            switch replies[id] {
            case .waiting(let continuation?)?:
                replies[id] = nil
                return continuation
            case .waiting(nil)?:
                replies[id] = .arrived(reply)
                return nil
            case .arrived?, nil:
                return nil
            }
        }
        waiter?.resume(returning: reply)
    }

    // MARK: Rooms

    func announce(generation run: LiveRun, in room: RoomKey) async {
        // Followers read the run's row and frames from the log: it must be there first.
        await run.waitUntilRecorded()
        await send(.generationStarted(runId: run.id, room: room))
    }

    func broadcast(_ frame: String, to room: RoomKey, excluding member: String?) async {
        await send(.room(RoomBroadcast(room: room, frame: frame, excluding: member)))
    }

    func generations(in room: RoomKey) async -> [(chatId: String, lastSeq: Int)] {
        do {
            return try await leases.unendedRuns(inRoom: room.description).map { (chatId: $0.id, lastSeq: $0.lastSeq) }
        } catch {
            logger.warning("listing a room's generations failed", metadata: ["room": "\(room)", "error": "\(error)"])
            return []
        }
    }

    // MARK: Caps

    func claim(_ run: RunRecord, limit: Int) async throws {
        if let running = try await leases.claim(run, limit: limit) {
            let what = run.kind == .agent ? "agent runs" : "generations"
            throw APIError(.rateLimited, "You already have \(running) \(what) in progress; the limit is \(limit). "
                               + "Wait for one to finish or cancel it.",
                           details: ["limit": .int(limit), "used": .int(running)])
        }
    }

    func releaseClaim(_ runId: String) async {
        do {
            try await leases.releaseClaim(runId)
        } catch {
            // Its lease is renewed as this instance's until it stops: say so, for whoever wonders at the count.
            logger.error("releasing the claim of a run that failed to start failed", metadata: ["run_id": "\(runId)", "error": "\(error)"])
        }
    }

    // MARK: Sending

    /// Tells the other instances which runs a log batch touched (the ``RunLogWriter`` calls it
    /// after each batch, which is why it needs no coordinator).
    static func announceProgress(of batch: RunLogBatch, from instanceId: String, over channel: any BusChannel, logger: Logger) async {
        var ids = Set(batch.frames.map(\.runId))
        ids.formUnion(batch.ended.map(\.runId))
        guard !ids.isEmpty else { return }
        // About 40 bytes an id: 150 keep a notification inline (under 8000 bytes).
        let sorted = ids.sorted()
        for start in stride(from: 0, to: sorted.count, by: 150) {
            let message = BusMessage.runProgress(runIds: Array(sorted[start..<min(start + 150, sorted.count)]))
            await send(message, from: instanceId, over: channel, logger: logger)
        }
    }

    func send(_ message: BusMessage) async {
        await Self.send(message, from: instanceId, over: channel, logger: logger)
    }

    private static func send(_ message: BusMessage, from instanceId: String, over channel: any BusChannel, logger: Logger) async {
        do {
            try await channel.send(try BusEnvelope(from: instanceId, message: message).encoded())
        } catch {
            logger.warning("sending on the cluster bus failed", metadata: ["error": "\(error)"])
        }
    }
}
