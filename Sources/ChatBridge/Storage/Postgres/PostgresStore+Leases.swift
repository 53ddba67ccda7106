import Foundation
import GRDB

/// Run leases, global run caps and sign-in throttles in PostgreSQL (PROTOCOL §9).
extension PostgresStore: RunLeaseStore {
    public func renewLeases() async throws -> Set<String> {
        Set(try await database.fetchAll("""
            UPDATE runs SET lease_until = now() + make_interval(secs => ?) WHERE owner = ? AND ended_at IS NULL RETURNING id
            """, [leaseSeconds, instanceId]).map { $0[0] as String })
    }

    public func releaseLeases() async throws {
        try await database.execute("UPDATE runs SET lease_until = now() - interval '1 second' WHERE owner = ? AND ended_at IS NULL",
                                   [instanceId])
    }

    public func owner(ofRun id: String) async throws -> (instance: String, leaseHolds: Bool)? {
        guard let row = try await database.fetchOne("""
            SELECT owner, lease_until > now() AS lease_holds FROM runs WHERE id = ? AND ended_at IS NULL AND owner IS NOT NULL
            """, [id]),
            let owner = row["owner"] as String?
        else { return nil }
        return (owner, row["lease_holds"] as Bool? ?? false)
    }

    public func unendedRuns(inRoom room: String) async throws -> [(id: String, lastSeq: Int)] {
        try await database.fetchAll("SELECT id, last_seq FROM runs WHERE room = ? AND ended_at IS NULL ORDER BY created_at", [room])
            .compactMap { row in (row["id"] as String?).map { ($0, row["last_seq"] as Int? ?? -1) } }
    }

    public func claim(_ run: RunRecord, limit: Int) async throws -> Int? {
        try await database.transaction { [instanceId, leaseSeconds] db in
            // Parallel starts of one user, on any instance, take turns here.
            try await db.execute("SELECT pg_advisory_xact_lock(?::int, ?::int)",
                                 [Self.runClaimLockSpace, Int32(truncatingIfNeeded: run.userId ?? 0)])
            let running = try await db.scalar(Int.self, """
                SELECT count(*) FROM runs WHERE user_id IS NOT DISTINCT FROM ? AND kind = ? AND ended_at IS NULL
                AND lease_until > now()
                """, [run.userId, run.kind.rawValue]) ?? 0
            guard running < limit else { return running }
            try await db.insertRun(run, owner: instanceId, leaseSeconds: leaseSeconds)
            return nil
        }
    }

    public func releaseClaim(_ runId: String) async throws {
        try await database.execute("DELETE FROM runs WHERE id = ? AND owner = ? AND last_seq = -1 AND ended_at IS NULL",
                                   [runId, instanceId])
    }

}

extension PostgresStore: LoginFailureStore {
    public func recordLoginFailure(key: String, window: Duration) async throws -> Int {
        try await database.scalar(Int.self, """
            INSERT INTO login_failures AS f (key, window_start, failures) VALUES (?, now(), 1)
            ON CONFLICT (key) DO UPDATE SET
                failures = CASE WHEN f.window_start < now() - make_interval(secs => ?) THEN 1 ELSE f.failures + 1 END,
                window_start = CASE WHEN f.window_start < now() - make_interval(secs => ?) THEN now() ELSE f.window_start END
            RETURNING failures
            """, [key, Self.seconds(window), Self.seconds(window)]) ?? 1
    }

    public func loginFailures(key: String, window: Duration) async throws -> Int {
        try await database.scalar(Int.self, """
            SELECT failures FROM login_failures WHERE key = ? AND window_start >= now() - make_interval(secs => ?)
            """, [key, Self.seconds(window)]) ?? 0
    }

    public func clearLoginFailures(key: String) async throws {
        try await database.execute("DELETE FROM login_failures WHERE key = ?", [key])
    }

}

extension PostgresStore: ClusterSecretStore {
    public func secret(named name: String, creatingWith value: String) async throws -> String {
        try await database.execute("INSERT INTO cluster_secrets (name, value) VALUES (?, ?) ON CONFLICT (name) DO NOTHING", [name, value])
        guard let stored = try await database.scalar(String.self, "SELECT value FROM cluster_secrets WHERE name = ?", [name]) else {
            throw PostgresStorageError("the secret '\(name)' vanished after it was stored")
        }
        return stored
    }
}

extension PostgresStore {
    /// The first key of the advisory locks that serialize one user's run starts.
    static let runClaimLockSpace: Int32 = 0x4147_5202

    static func seconds(_ duration: Duration) -> Double {
        duration.milliseconds / 1000
    }
}
