import Synchronization

/// Rows read often and changed rarely, kept in memory: workspaces by slug (every chat request looks
/// its workspace up before anything else) and welcome messages by user (every `ws/chat` connect
/// sends them). On SQLite this process is the tables' only writer (PROTOCOL §9: one process owns
/// the file), and its writes ``clear()`` the cache they change.
///
/// A read that raced a change must not put the old value back: ``remember(_:for:readIn:)`` keeps
/// only what was read in the ``generation`` still current, and ``clear()`` (after the change
/// committed) starts a new one.
final class GenerationCache<Key: Hashable & Sendable, Value: Sendable>: Sendable {
    private struct State {
        var values: [Key: Value] = [:]
        var generation = 0
    }

    private let state = Mutex(State())
    /// Keys kept at most; past it the cache starts over (the tables are small, this only bounds it).
    let capacity: Int

    init(capacity: Int = 1024) {
        self.capacity = capacity
    }

    /// The generation a read starts in: pass it to ``remember(_:for:readIn:)``.
    var generation: Int { state.withLock { $0.generation } }

    func value(for key: Key) -> Value? {
        state.withLock { $0.values[key] }
    }

    /// Keeps `value` unless the table changed since `generation`.
    func remember(_ value: Value, for key: Key, readIn generation: Int) {
        state.withLock { state in
            guard state.generation == generation else { return }
            if state.values.count >= capacity { state.values.removeAll() }
            state.values[key] = value
        }
    }

    /// The value for `key`, read by `read` when it is not kept (and kept when no change raced the read).
    func value(for key: Key, orRead read: () async throws -> Value?) async rethrows -> Value? {
        if let kept = value(for: key) { return kept }
        let generation = generation
        let value = try await read()
        if let value { remember(value, for: key, readIn: generation) }
        return value
    }

    /// Forgets everything: call after a change to the table has committed.
    func clear() {
        state.withLock { state in
            state.values.removeAll()
            state.generation += 1
        }
    }
}
