import ChatBridge
import Synchronization

/// The agent runs of this process, by id, with the per-user concurrency limit; their frames and
/// tasks are in the ``RunRegistry`` and the ``RunService`` like every run's.
final class InvocationRegistry: Sendable {
    private let live = Mutex<[String: Invocation]>([:])
    let maxConcurrentPerUser: Int

    init(maxConcurrentPerUser: Int) {
        self.maxConcurrentPerUser = maxConcurrentPerUser
    }

    /// Registers a run, refusing a new one when its owner already has the maximum number running
    /// (a run continued after a restart is registered regardless).
    func register(_ invocation: Invocation, enforcingLimit: Bool = true) throws {
        try live.withLock { live in
            // Ids named by clients (AG-UI's runId) may collide; two runs under one id never run.
            guard live[invocation.id] == nil else {
                throw APIError(.conflict, "A run with id '\(invocation.id)' is already in progress.")
            }
            let running = live.values.filter { $0.ownerId == invocation.ownerId && !$0.isFinished }.count
            guard running < maxConcurrentPerUser || !enforcingLimit else {
                throw APIError(.rateLimited, "You already have \(running) agent runs in progress; the limit is \(maxConcurrentPerUser). "
                                   + "Wait for one to finish or cancel it.",
                               details: ["limit": .int(maxConcurrentPerUser), "used": .int(running)])
            }
            live[invocation.id] = invocation
        }
    }

    func remove(_ id: String) {
        _ = live.withLock { $0.removeValue(forKey: id) }
    }

    /// A live run the principal may act on. Another user's run is `forbidden`.
    func invocation(id: String, for viewer: Viewer) throws -> Invocation {
        guard let invocation = live.withLock({ $0[id] }) else {
            throw APIError.notFound("Live invocation '\(id)'")
        }
        guard viewer.mayAccess(ownerId: invocation.ownerId) else {
            throw APIError.forbidden("Invocation '\(id)' belongs to another user.")
        }
        return invocation
    }

    func lookup(_ id: String) -> Invocation? {
        live.withLock { $0[id] }
    }

    var count: Int { live.withLock { $0.count } }
}
