import ChatBridge
import Foundation
import Logging
import ServiceLifecycle

/// The background work of an instance in a cluster (PROTOCOL §9): it listens on the bus and acts
/// on what it hears, renews the leases on this instance's runs, takes over the runs of instances
/// that stopped renewing theirs, and keeps followed runs current.
///
/// It shuts down after the ``RunService`` (services stop in reverse order), whose waiting runs
/// it then releases, so another instance continues them at once rather than after a lease.
struct ClusterService: Service {
    let coordinator: ClusterCoordinator
    let engine: AgentEngine
    let runs: RunRegistry
    let repair: any StartupRepairing
    let rooms: LocalRoomBus
    let logger: Logger

    init(coordinator: ClusterCoordinator, engine: AgentEngine, runs: RunRegistry, repair: any StartupRepairing, rooms: LocalRoomBus,
         logger: Logger) {
        self.coordinator = coordinator
        self.engine = engine
        self.runs = runs
        self.repair = repair
        self.rooms = rooms
        self.logger = logger
    }

    func run() async throws {
        logger.info("joined the cluster", metadata: ["instance": "\(coordinator.instanceId)"])
        await withDiscardingTaskGroup { group in
            group.addTask {
                // Notifications sent while the listener was away are lost: re-read every followed run.
                await coordinator.channel.listen(connected: { await coordinator.refresh() }, receive: { await handle($0) })
            }
            group.addTask { await maintainLeases() }
            group.addTask { await coordinator.maintainFollowedRuns() }
            try? await gracefulShutdown()
            group.cancelAll()
        }
        do {
            try await coordinator.leases.releaseLeases()
            await coordinator.send(.leasesReleased)
        } catch {
            logger.warning("releasing this instance's run leases failed; others take its runs over when they expire",
                           metadata: ["error": "\(error)"])
        }
    }

    // MARK: Leases

    private func maintainLeases() async {
        let settings = coordinator.settings
        var lastRenewal = ContinuousClock.now
        var lastPayloadSweep = ContinuousClock.now
        while !Task.isCancelled {
            // Woken early when an instance releases its leases at shutdown.
            await coordinator.takeOverSoon.wait(atMost: settings.sweepInterval)
            if Task.isCancelled { return }
            if lastRenewal.duration(to: .now) >= settings.renewInterval {
                do {
                    _ = try await coordinator.leases.renewLeases()
                    lastRenewal = .now
                } catch {
                    if Task.isCancelled { return }
                    logger.error("renewing run leases failed", metadata: ["error": "\(error)"])
                }
            }
            await takeOverExpiredRuns()
            if lastPayloadSweep.duration(to: .now) >= .seconds(600) {
                try? await coordinator.channel.deleteOldPayloads()
                lastPayloadSweep = .now
            }
        }
    }

    /// Repairs the runs whose owner stopped renewing its lease, with PROTOCOL §8 semantics: waiting
    /// agent runs continue here, the rest end `interrupted`.
    private func takeOverExpiredRuns() async {
        do {
            let report = try await repair.repairUnfinishedRuns(now: Timestamp.now())
            guard !report.isEmpty else { return }
            logger.notice("took over the runs of a stopped instance", metadata: [
                "interrupted_chats": "\(report.interruptedChats)", "interrupted_invocations": "\(report.interruptedInvocations)",
                "continued_invocations": "\(report.waitingInvocations)"])
            await engine.restoreWaitingRuns(report.waitingInvocations)
            // Followers of the runs that ended here read their last frames now.
            await coordinator.send(.runProgress(runIds: report.interruptedInvocations))
            await coordinator.refresh()
        } catch {
            if Task.isCancelled { return }
            logger.error("taking over expired runs failed", metadata: ["error": "\(error)"])
        }
    }

    // MARK: Messages

    private func handle(_ payload: String) async {
        let envelope: BusEnvelope
        do {
            envelope = try BusEnvelope(decoding: payload)
        } catch {
            logger.warning("ignoring an unreadable cluster bus message", metadata: ["error": "\(error)"])
            return
        }
        let fromHere = envelope.from == coordinator.instanceId
        logger.trace("cluster bus message", metadata: ["from": "\(envelope.from)", "message": "\(envelope.message)"])
        switch envelope.message {
        case .runProgress(let ids):
            await coordinator.refresh(ids)
        case .command(let command) where command.to == coordinator.instanceId:
            let refused = apply(command.command, toRun: command.runId)
            await coordinator.send(.reply(CommandReply(id: command.id, to: envelope.from, error: refused)))
        case .reply(let reply) where reply.to == coordinator.instanceId:
            coordinator.resolve(reply)
        case .room(let broadcast) where !fromHere:
            await rooms.publish(serialized: broadcast.frame, room: broadcast.room, excluding: broadcast.excluding)
        case .generationStarted(let runId, let room) where !fromHere:
            await watchGeneration(runId, in: room)
        case .leasesReleased where !fromHere:
            coordinator.takeOverSoon.signal()
        case .command, .reply, .room, .generationStarted, .leasesReleased:
            break
        }
    }

    /// A command forwarded by another instance, applied as if a client of this one sent it.
    private func apply(_ command: RunCommand, toRun runId: String) -> RefusedCommand? {
        do {
            if let invocation = engine.registry.lookup(runId) {
                try engine.apply(command, to: invocation)
            } else if case .cancel = command, let run = runs.lookup(runId) {
                run.cancellation.request()
            } else {
                throw APIError.notFound("Live run '\(runId)'")
            }
            return nil
        } catch {
            return RefusedCommand(APIError.from(error))
        }
    }

    /// This instance's members of `room` watch a generation another instance started there.
    private func watchGeneration(_ runId: String, in room: RoomKey) async {
        let members = await rooms.members(of: room)
        logger.trace("a generation started on another instance", metadata: [
            "run_id": "\(runId)", "room": "\(room)", "members_here": "\(members.count)"])
        guard !members.isEmpty else { return }
        do {
            guard let record = try await coordinator.store.run(id: runId, viewer: .singleUser) else {
                logger.warning("a room's generation is not in the run log", metadata: ["run_id": "\(runId)"])
                return
            }
            guard let run = try await coordinator.follow(record, room: room) else {
                // A short generation may have ended before this instance heard of it: its log has it all.
                for member in members {
                    member.outbox.addReplay(StoredReplay(store: coordinator.store, runId: runId, after: -1, into: member.outbox,
                                                         ids: ["chat_id": .string(runId)], logger: logger))
                }
                return
            }
            for member in members where !run.isWatched(by: member.outbox) { run.attach(member.outbox, after: -1) }
        } catch {
            logger.warning("following a room's generation failed", metadata: ["run_id": "\(runId)", "error": "\(error)"])
        }
    }
}
