import Synchronization

/// Whether any user exists, kept once the database has said yes. Users are never deleted, so from
/// then on ``AccountStore/hasUsers()`` needs no query, even for a user added by another process
/// (`agenthost users add`) or instance; "no users" is asked again every time, as one may be added
/// meanwhile and must end single-user mode at once.
final class UsersExistLatch: Sendable {
    private let known = Atomic(false)

    /// `true` once `ask` has answered `true`; until then, `ask`'s answer.
    func hasUsers(asking ask: () async throws -> Bool) async rethrows -> Bool {
        if known.load(ordering: .relaxed) { return true }
        let exist = try await ask()
        if exist { known.store(true, ordering: .relaxed) }
        return exist
    }
}
