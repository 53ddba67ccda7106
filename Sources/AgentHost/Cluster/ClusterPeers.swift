import ChatBridge

/// The other instances serving the same database (PROTOCOL §9), as routes and engines see them.
///
/// ``SingleInstance`` is the seam's answer on SQLite, which one process owns: there are no peers.
/// ``ClusterCoordinator`` reaches them over the database's bus.
protocol ClusterPeers: Sendable {
    /// A live view of run `record`, which another instance executes: its frames as that instance
    /// logs them, watched like a run of this process. `nil` when no other instance executes it.
    func follow(_ record: RunRecord, room: RoomKey?) async throws -> LiveRun?
    /// Hands over the view of run `id` to continue it here (this instance took the run over);
    /// its watchers stay attached.
    func stopFollowing(_ id: String) -> LiveRun?
    /// Applies `command` on the instance executing run `runId`; returns once it has, and throws
    /// what that instance refused it with.
    func forward(_ command: RunCommand, toRun runId: String) async throws
    /// Tells the other instances that `run` (a generation) started in `room`, so their members watch it.
    func announce(generation run: LiveRun, in room: RoomKey) async
    /// Sends a serialized room frame to the room's members on the other instances.
    func broadcast(_ frame: String, to room: RoomKey, excluding member: String?) async
    /// The room's unfinished generations that other instances execute, with their latest logged `seq`.
    func generations(in room: RoomKey) async -> [(chatId: String, lastSeq: Int)]
    /// Counts `run` against its user's cap across every instance; throws `rate_limited` when the
    /// user already has `limit` runs of its kind.
    func claim(_ run: RunRecord, limit: Int) async throws
    /// Gives back the place of a claimed run that failed to start (it published nothing).
    func releaseClaim(_ runId: String) async
}

/// One process owns the data: no peers to follow, forward to or tell.
struct SingleInstance: ClusterPeers {
    func follow(_ record: RunRecord, room: RoomKey?) async throws -> LiveRun? { nil }
    func stopFollowing(_ id: String) -> LiveRun? { nil }
    func forward(_ command: RunCommand, toRun runId: String) async throws {
        throw APIError.notFound("Live run '\(runId)'")
    }
    func announce(generation run: LiveRun, in room: RoomKey) async {}
    func broadcast(_ frame: String, to room: RoomKey, excluding member: String?) async {}
    func generations(in room: RoomKey) async -> [(chatId: String, lastSeq: Int)] { [] }
    func claim(_ run: RunRecord, limit: Int) async throws {}
    func releaseClaim(_ runId: String) async {}
}
