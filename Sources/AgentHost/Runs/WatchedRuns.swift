import Synchronization

/// The runs a connection watches, to detach from when it closes. A run that has finished has let go
/// of its live watchers already, so it is forgotten when the next run is added: a socket open for
/// hours keeps the runs still going, not every run it ever started or resumed with all their frames.
final class WatchedRuns: Sendable {
    private let runs = Mutex<[String: LiveRun]>([:])

    /// Adds `run` (replacing an earlier entry for its id) and forgets the runs that have finished.
    func add(_ run: LiveRun) {
        runs.withLock { runs in
            runs = runs.filter { !$0.value.isFinished }
            runs[run.id] = run
        }
    }

    /// The runs still remembered.
    var all: [LiveRun] { runs.withLock { Array($0.values) } }
}
