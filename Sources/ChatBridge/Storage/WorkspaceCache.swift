import Synchronization

/// Workspaces read by slug, kept in memory. Every chat request looks its workspace up before
/// anything else, and on SQLite this process is the table's only writer (PROTOCOL §9: one process
/// owns the file), whose creates and updates ``clear()`` it.
///
/// A read that raced a change must not put the old row back: ``remember(_:readIn:)`` keeps only
/// what was read in the ``generation`` still current, and ``clear()`` (after the change committed)
/// starts a new one.
final class WorkspaceCache: Sendable {
    private struct State {
        var bySlug: [String: Workspace] = [:]
        var generation = 0
    }

    private let state = Mutex(State())
    /// Slugs kept at most; past it the cache starts over (workspaces are few, this only bounds it).
    let capacity: Int

    init(capacity: Int = 1024) {
        self.capacity = capacity
    }

    /// The generation a read starts in: pass it to ``remember(_:readIn:)``.
    var generation: Int { state.withLock { $0.generation } }

    func workspace(slug: String) -> Workspace? {
        state.withLock { $0.bySlug[slug] }
    }

    /// Keeps `workspace` unless the table changed since `generation`.
    func remember(_ workspace: Workspace, readIn generation: Int) {
        state.withLock { state in
            guard state.generation == generation else { return }
            if state.bySlug.count >= capacity { state.bySlug.removeAll() }
            state.bySlug[workspace.slug] = workspace
        }
    }

    /// Forgets every workspace: call after a change to the table has committed.
    func clear() {
        state.withLock { state in
            state.bySlug.removeAll()
            state.generation += 1
        }
    }
}
