/// How the instances on one database cooperate (PROTOCOL §9); used only with PostgreSQL.
struct ClusterSettings: Sendable, Equatable {
    /// How long a lease on a run holds without renewal: a dead instance's runs are taken over this
    /// long after its last renewal (plus at most one ``sweepInterval``).
    var leaseDuration: Duration = .seconds(10)
    /// How often each instance looks for runs whose lease expired.
    var sweepInterval: Duration = .seconds(2)
    /// How long a command forwarded to another instance (a tool result, an approval, a cancel) may
    /// wait for its answer before the client is told to retry.
    var forwardTimeout: Duration = .seconds(2)
    /// How often followed runs are re-read from the log even without a notification (a safety net
    /// for notifications lost while the bus reconnected).
    var followPollInterval: Duration = .seconds(1)

    /// Leases are renewed three times per lease, so one slow renewal never loses them.
    var renewInterval: Duration { leaseDuration / 3 }
}
