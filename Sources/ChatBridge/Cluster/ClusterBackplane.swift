import Foundation

/// What several `agenthost serve` instances on one database share (PROTOCOL §9): the leases on the
/// runs each executes, and a channel every instance hears. Only PostgreSQL has one; on SQLite
/// (one process per data directory) ``Storage/cluster`` is `nil`.
public struct ClusterBackplane: Sendable {
    public var leases: any RunLeaseStore
    public var loginFailures: any LoginFailureStore
    public var secrets: any ClusterSecretStore
    public var channel: any BusChannel

    public init(leases: any RunLeaseStore, loginFailures: any LoginFailureStore, secrets: any ClusterSecretStore,
                channel: any BusChannel) {
        self.leases = leases
        self.loginFailures = loginFailures
        self.secrets = secrets
        self.channel = channel
    }
}

/// Secrets every instance must share (the JWT signing key), kept in the database.
public protocol ClusterSecretStore: Sendable {
    /// The secret `name`; the first caller's `value` when there is none yet (a race between
    /// instances starting together has one winner, whose value all get).
    func secret(named name: String, creatingWith value: String) async throws -> String
}

/// Which instance executes which run, and for how long it may (PROTOCOL §9).
///
/// A run's row names its owner from its first write. The owner renews the leases of its unended
/// runs well within ``leaseDuration``; a run whose lease has expired belongs to a dead instance,
/// and ``StartupRepairing/repairUnfinishedRuns(now:)`` (which every instance calls periodically)
/// takes it over with PROTOCOL §8 semantics.
public protocol RunLeaseStore: Sendable {
    /// This process's name in `runs.owner`: random per process start.
    var instanceId: String { get }
    /// How long a lease holds without renewal.
    var leaseDuration: Duration { get }
    /// Extends the leases of every unended run this instance owns; returns their ids.
    func renewLeases() async throws -> Set<String>
    /// Ends this instance's leases now (a clean shutdown), so other instances take its waiting runs
    /// over at once instead of after ``leaseDuration``.
    func releaseLeases() async throws
    /// The instance executing run `id` and whether its lease still holds, while the run has not
    /// ended (`nil` once it has, or if unknown).
    func owner(ofRun id: String) async throws -> (instance: String, leaseHolds: Bool)?
    /// The unended runs started in `room` (a `ws/chat` room's key), with their latest logged `seq`.
    func unendedRuns(inRoom room: String) async throws -> [(id: String, lastSeq: Int)]
    /// Records `run` as started by this instance unless its user already has `limit` unended runs
    /// of its kind held by live instances; returns that count when it refuses. One transaction
    /// under a per-user lock, so parallel starts on several instances never exceed the limit.
    func claim(_ run: RunRecord, limit: Int) async throws -> Int?
    /// Forgets a claimed run that never started (nothing was logged for it), so it stops counting.
    func releaseClaim(_ runId: String) async throws
}

/// Failed sign-ins counted by every instance (PROTOCOL §2, §9), per key (a username or an address)
/// in fixed windows.
public protocol LoginFailureStore: Sendable {
    /// Counts a failed sign-in for `key` within a window of `window`; returns the failures in the
    /// current window (including this one).
    func recordLoginFailure(key: String, window: Duration) async throws -> Int
    /// The failures of `key` in its current window.
    func loginFailures(key: String, window: Duration) async throws -> Int
    /// Forgets the failures of `key` (a successful sign-in).
    func clearLoginFailures(key: String) async throws
}

/// A channel every instance on the database hears, in order per sender (LISTEN/NOTIFY on
/// PostgreSQL). Payloads of any size: large ones travel through a table.
public protocol BusChannel: Sendable {
    /// Sends `payload` to every listening instance (this one too).
    func send(_ payload: String) async throws
    /// Listens until cancelled, calling `receive` for each payload in arrival order. `connected` runs
    /// after every (re)connection: payloads sent while the listener was away are lost, so listeners
    /// re-read what they follow then.
    func listen(connected: @escaping @Sendable () async -> Void, receive: @escaping @Sendable (String) async -> Void) async
    /// Deletes what the channel stored for large payloads once every listener has had time to read it.
    func deleteOldPayloads() async throws
}
