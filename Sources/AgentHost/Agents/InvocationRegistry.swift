import ChatBridge
import Synchronization

/// The live invocations of this server, by id, with the per-user concurrency limit.
final class InvocationRegistry: Sendable {
    private let live = Mutex<[String: Invocation]>([:])
    let maxConcurrentPerUser: Int

    init(maxConcurrentPerUser: Int) {
        self.maxConcurrentPerUser = maxConcurrentPerUser
    }

    /// Registers a new run, refusing it when its owner already has the maximum number running.
    func register(_ invocation: Invocation) throws {
        try live.withLock { live in
            let running = live.values.filter { $0.ownerId == invocation.ownerId && !$0.isFinished }.count
            guard running < maxConcurrentPerUser else {
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
