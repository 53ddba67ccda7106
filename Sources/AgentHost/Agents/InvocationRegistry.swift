import ChatBridge
import Synchronization

/// The agent runs of this process, by id, with the per-user concurrency limit; their frames and
/// tasks are in the ``RunRegistry`` and the ``RunService`` like every run's.
final class InvocationRegistry: Sendable {
    private struct State {
        /// Every run of this process, finished ones included until the ``RunService`` forgets them.
        var live: [String: Invocation] = [:]
        /// Each owner's runs that were unfinished when last counted. Finished runs stay in `live`
        /// for replay for minutes, so counting an owner's runs there would look at every run of that
        /// time, under the lock, at every start.
        var unfinished: [Int64?: [Invocation]] = [:]
    }

    private let state = Mutex(State())
    let maxConcurrentPerUser: Int

    init(maxConcurrentPerUser: Int) {
        self.maxConcurrentPerUser = maxConcurrentPerUser
    }

    /// Registers a run, refusing a new one when its owner already has the maximum number running
    /// (a run continued after a restart is registered regardless).
    func register(_ invocation: Invocation, enforcingLimit: Bool = true) throws {
        try state.withLock { state in
            // Ids named by clients (AG-UI's runId) may collide; two runs under one id never run.
            guard state.live[invocation.id] == nil else {
                throw APIError(.conflict, "A run with id '\(invocation.id)' is already in progress.")
            }
            var running = state.unfinished.removeValue(forKey: invocation.ownerId) ?? []
            running.removeAll(where: \.isFinished)
            defer { state.unfinished[invocation.ownerId] = running.isEmpty ? nil : running }
            guard running.count < maxConcurrentPerUser || !enforcingLimit else {
                throw APIError(.rateLimited, "You already have \(running.count) agent runs in progress; the limit is \(maxConcurrentPerUser). "
                                   + "Wait for one to finish or cancel it.",
                               details: ["limit": .int(maxConcurrentPerUser), "used": .int(running.count)])
            }
            running.append(invocation)
            state.live[invocation.id] = invocation
        }
    }

    func remove(_ id: String) {
        state.withLock { state in
            guard let invocation = state.live.removeValue(forKey: id) else { return }
            state.unfinished[invocation.ownerId]?.removeAll { $0 === invocation }
            if state.unfinished[invocation.ownerId]?.isEmpty == true { state.unfinished[invocation.ownerId] = nil }
        }
    }

    /// A live run the principal may act on. Another user's run is `forbidden`.
    func invocation(id: String, for viewer: Viewer) throws -> Invocation {
        guard let invocation = state.withLock({ $0.live[id] }) else {
            throw APIError.notFound("Live invocation '\(id)'")
        }
        guard viewer.mayAccess(ownerId: invocation.ownerId) else {
            throw APIError.forbidden("Invocation '\(id)' belongs to another user.")
        }
        return invocation
    }

    func lookup(_ id: String) -> Invocation? {
        state.withLock { $0.live[id] }
    }

    var count: Int { state.withLock { $0.live.count } }
}
