import ChatBridge

/// Finds where a run is live: in this process, on another instance of the cluster (followed
/// through the run log, PROTOCOL §9), or nowhere any more (it ended, or ran before a restart: its
/// frames are in the log).
struct RunLocator: Sendable {
    let runs: RunRegistry
    let store: any RunLogStore
    let peers: any ClusterPeers

    enum Location {
        /// Watch it: its frames so far, then live.
        case live(LiveRun)
        /// Replay it from the log.
        case logged(RunRecord)
        /// Not a run the viewer may see.
        case unknown
    }

    /// Run `id` as `viewer` may see it: another user's run in this process is `forbidden`; one
    /// only in the log is `unknown` to them. `room` is the `ws/chat` room a followed generation
    /// belongs to.
    func locate(_ id: String, viewer: Viewer, room: RoomKey? = nil) async throws -> Location {
        if let run = runs.lookup(id) {
            guard viewer.mayAccess(ownerId: run.ownerId) else { throw APIError.forbidden("Run '\(id)' belongs to another user.") }
            return .live(run)
        }
        guard let record = try await store.run(id: id, viewer: viewer) else { return .unknown }
        if let run = try await peers.follow(record, room: room) { return .live(run) }
        return .logged(record)
    }
}
