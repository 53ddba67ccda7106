import Foundation
import GRDB

/// Frames are stored a batch per row: the frames one flush wrote for one run, one per line as
/// `type<TAB>json` (serialized JSON never holds a raw tab or newline). A 200-token answer is then a
/// handful of rows instead of 200, and a replay reads them back byte for byte.
extension SQLiteStore: RunLogStore {
    public func write(_ batch: RunLogBatch) async throws {
        guard !batch.isEmpty else { return }
        try await writer.write { db in try Self.write(batch, db: db) }
    }

    static func write(_ batch: RunLogBatch, db: Database) throws {
        for run in batch.started { try run.insert(db) }
        let insert = try db.cachedStatement(sql: "INSERT INTO run_frames (run_id, first_seq, last_seq, body) VALUES (?, ?, ?, ?)")
        let advance = try db.cachedStatement(sql: "UPDATE runs SET last_seq = ? WHERE id = ?")
        for (runId, frames) in batch.frames {
            guard let first = frames.first, let last = frames.last else { continue }
            let body = RunFrame.logBody(of: frames)
            try insert.execute(arguments: [runId, first.seq, last.seq, body])
            try advance.execute(arguments: [last.seq, runId])
        }
        let end = try db.cachedStatement(sql: "UPDATE runs SET ended_at = ? WHERE id = ? AND ended_at IS NULL")
        for (runId, date) in batch.ended { try end.execute(arguments: [StoredDate(date), runId]) }
        try insertSteps(batch.steps, db: db)
    }

    public func run(id: String, viewer: Viewer) async throws -> RunRecord? {
        try await writer.read { db in
            guard let run = try RunRecord.fetchOne(db, key: id), viewer.mayAccess(ownerId: run.userId) else { return nil }
            return run
        }
    }

    public func frames(ofRun id: String, after afterSeq: Int, limit: Int) async throws -> [RunFrame] {
        try await writer.read { db in
            try Self.frames(db, runId: id, after: afterSeq, limit: limit)
        }
    }

    static func frames(_ db: Database, runId: String, after afterSeq: Int, limit: Int = .max) throws -> [RunFrame] {
        var frames: [RunFrame] = []
        let rows = try Row.fetchCursor(db, sql: """
            SELECT first_seq, body FROM run_frames WHERE run_id = ? AND last_seq > ? ORDER BY first_seq
            """, arguments: [runId, afterSeq])
        while frames.count < limit, let row = try rows.next() {
            RunFrame.append(fromLogBody: row[1], firstSeq: row[0], after: afterSeq, limit: limit, to: &frames)
        }
        return frames
    }

    public func deleteLogs(endedBefore date: Date) async throws -> Int {
        try await writer.write { db in
            let ids = try String.fetchAll(db, sql: "SELECT id FROM runs WHERE ended_at IS NOT NULL AND ended_at < ?", arguments: [date])
            for id in ids {
                try db.execute(sql: "DELETE FROM run_frames WHERE run_id = ?", arguments: [id])
                try db.execute(sql: "DELETE FROM runs WHERE id = ?", arguments: [id])
            }
            return ids.count
        }
    }
}
