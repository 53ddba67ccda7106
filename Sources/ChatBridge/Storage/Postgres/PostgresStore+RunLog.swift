import Foundation
import GRDB

/// The run log in PostgreSQL, stored exactly as SQLite stores it: one row per flush and run, its
/// frames in the one row format (``RunFrame/logBody(of:)``).
extension PostgresStore: RunLogStore {
    public func write(_ batch: RunLogBatch) async throws {
        guard !batch.isEmpty else { return }
        try await database.transaction { [instanceId, leaseSeconds] db in
            try await Self.write(batch, in: db, owner: instanceId, leaseSeconds: leaseSeconds)
        }
    }

    /// Writes `batch`; the runs it starts are leased to `owner` (a run ``claim(_:limit:)`` already
    /// recorded keeps its row).
    static func write(_ batch: RunLogBatch, in db: PostgresTransaction, owner: String, leaseSeconds: Double) async throws {
        for run in batch.started { _ = try await db.insertRun(run, owner: owner, leaseSeconds: leaseSeconds) }
        for (runId, frames) in batch.frames {
            guard let first = frames.first, let last = frames.last else { continue }
            let body = RunFrame.logBody(of: frames)
            try await db.execute("INSERT INTO run_frames (run_id, first_seq, last_seq, body) VALUES (?, ?, ?, ?)",
                                 [runId, first.seq, last.seq, body])
            try await db.execute("UPDATE runs SET last_seq = ? WHERE id = ?", [last.seq, runId])
        }
        for (runId, date) in batch.ended {
            try await db.execute("UPDATE runs SET ended_at = ? WHERE id = ? AND ended_at IS NULL", [date, runId])
        }
        for step in batch.steps {
            try await db.execute(AgentStep.insertSQL, step.insertValues)
        }
    }

    public func run(id: String, viewer: Viewer) async throws -> RunRecord? {
        guard let run = try await database.records(RunRecord.self, "SELECT \(Self.runColumns) FROM runs WHERE id = ?", [id]).first,
              viewer.mayAccess(ownerId: run.userId)
        else { return nil }
        return run
    }

    public func frames(ofRun id: String, after afterSeq: Int, limit: Int) async throws -> [RunFrame] {
        try await Self.frames(in: database, runId: id, after: afterSeq, limit: limit)
    }

    static let runColumns = "id, kind, workspace_id, user_id, frame_extra, room, last_seq, created_at, ended_at"

    static func frames(in db: some PostgresExecutor, runId: String, after afterSeq: Int, limit: Int = .max) async throws -> [RunFrame] {
        var frames: [RunFrame] = []
        // Rows hold a flush each (tens of frames): read a bounded number per query until `limit` is met.
        var cursor = afterSeq
        while frames.count < limit {
            let rows = try await db.rows(PostgresStatement("""
                SELECT first_seq, body FROM run_frames WHERE run_id = ? AND last_seq > ? ORDER BY first_seq LIMIT 64
                """, [runId, cursor]))
            guard !rows.isEmpty else { break }
            for row in rows {
                let (firstSeq, body) = try row.decode((Int64, String).self)
                let next = RunFrame.append(fromLogBody: body, firstSeq: Int(firstSeq), after: afterSeq, limit: limit, to: &frames)
                cursor = max(cursor, next - 1)
            }
            if rows.count < 64 { break }
        }
        return frames
    }

    public func deleteLogs(endedBefore date: Date) async throws -> Int {
        try await database.transaction { db in
            let ids = try await db.fetchAll("DELETE FROM runs WHERE ended_at IS NOT NULL AND ended_at < ? RETURNING id", [date])
                .map { $0[0] as String }
            if !ids.isEmpty {
                var statement = PostgresStatement("DELETE FROM run_frames WHERE run_id IN (")
                statement.append(ids.map { _ in "?" }.joined(separator: ", ") + ")", ids)
                _ = try await db.rows(statement)
            }
            return ids.count
        }
    }
}

extension PostgresExecutor {
    /// Inserts a run's row (its id is its own, not the database's), leased to `owner`; a row that
    /// is already there stays as it is.
    func insertRun(_ run: RunRecord, owner: String, leaseSeconds: Double) async throws {
        var columns: [String] = []
        var arguments: [PostgresArgument] = []
        for (name, value) in try run.databaseDictionary.sorted(by: { $0.key < $1.key }) {
            columns.append(name)
            arguments.append(PostgresValues.column(name, value))
        }
        var statement = PostgresStatement("""
            INSERT INTO runs (\(columns.joined(separator: ", ")), owner, lease_until)
            VALUES (\(columns.map { _ in "?" }.joined(separator: ", ")), ?, now() + make_interval(secs => ?))
            ON CONFLICT (id) DO NOTHING
            """)
        statement.arguments = arguments + [PostgresValues.column("owner", owner.databaseValue),
                                           PostgresValues.column("lease", leaseSeconds.databaseValue)]
        _ = try await rows(statement)
    }
}
