import Foundation
import GRDB

/// Start-up repair (PROTOCOL §8) on PostgreSQL, and the takeover of a dead instance's runs
/// (PROTOCOL §9): the same outcomes as ``StartupRepair`` on SQLite, in one transaction, for the runs
/// no live instance holds.
///
/// Several instances share the database, so only runs whose lease has expired are repaired: their
/// owner stopped renewing it (it died, or released its leases at shutdown). Each is taken over
/// (`FOR UPDATE SKIP LOCKED`: two instances sweeping at once never take the same run): waiting
/// agent runs become this instance's to continue, the rest end `interrupted`. Every instance runs
/// this at start-up and then every few seconds.
extension PostgresStore: StartupRepairing {
    public func repairUnfinishedRuns(now: Date) async throws -> StartupRepair.Report {
        try await database.transaction { [instanceId, leaseSeconds] db in
            var report = StartupRepair.Report()
            let runs = try await db.records(RunRecord.self, """
                UPDATE runs SET owner = ?, lease_until = now() + make_interval(secs => ?)
                WHERE id IN (SELECT id FROM runs WHERE ended_at IS NULL AND (lease_until IS NULL OR lease_until < now())
                             ORDER BY created_at LIMIT 200 FOR UPDATE SKIP LOCKED)
                RETURNING \(Self.runColumns)
                """, [instanceId, leaseSeconds])
            for run in runs {
                let frames = try await Self.frames(in: db, runId: run.id, after: -1)
                switch run.kind {
                case .chat:
                    if let chatId = try await Self.endChat(run, frames: frames, db: db, now: now) { report.interruptedChats.append(chatId) }
                case .agent:
                    let state = AgentLogState(frames: frames)
                    if state.isWaitingOnClient, try await Self.keepWaiting(run.id, db: db) {
                        report.waitingInvocations.append(run.id)
                    } else {
                        try await Self.endAgentRun(run, state: state, db: db, now: now)
                        report.interruptedInvocations.append(run.id)
                    }
                }
            }
            // Rows no run log covers (written before the log existed, or whose log was lost). A live
            // instance's new run has its row before its first log batch: only rows older than any
            // batch can be, and with no unended run of their own, are orphans.
            let orphanAge = now.addingTimeInterval(-Self.orphanAge)
            report.interruptedChats += try await db.fetchAll("""
                UPDATE workspace_chats c SET status = ?, error = COALESCE(error, ?), updated_at = ?
                WHERE status = ? AND created_at < ?
                  AND id NOT IN (SELECT chat_id FROM agent_invocations WHERE status = ? AND chat_id IS NOT NULL)
                  AND NOT EXISTS (SELECT 1 FROM runs r WHERE r.id = c.chat_uuid AND r.ended_at IS NULL)
                  AND NOT EXISTS (SELECT 1 FROM agent_invocations i JOIN runs r ON r.id = i.id
                                  WHERE i.chat_id = c.id AND r.ended_at IS NULL)
                RETURNING id
                """, [Chat.Status.interrupted.rawValue, StartupRepair.interruptedMessage, now, Chat.Status.streaming.rawValue,
                      orphanAge, AgentInvocation.Status.waiting.rawValue]).map { $0[0] as Int64 }
            report.interruptedInvocations += try await db.fetchAll("""
                UPDATE agent_invocations i SET status = ?, error = COALESCE(error, ?), finished_at = ?
                WHERE status = ? AND created_at < ? AND NOT EXISTS (SELECT 1 FROM runs r WHERE r.id = i.id AND r.ended_at IS NULL)
                RETURNING id
                """, [AgentInvocation.Status.interrupted.rawValue, StartupRepair.interruptedMessage, now,
                      AgentInvocation.Status.running.rawValue, orphanAge]).map { $0[0] as String }
            report.interruptedChats = Array(Set(report.interruptedChats)).sorted()
            report.interruptedInvocations = Array(Set(report.interruptedInvocations)).sorted()
            report.waitingInvocations.sort()
            return report
        }
    }

    private static func endChat(_ run: RunRecord, frames: [RunFrame], db: PostgresTransaction, now: Date) async throws -> Int64? {
        guard var chat = try await db.records(Chat.self, "SELECT \(chatColumns) FROM workspace_chats c WHERE chat_uuid = ?", [run.id]).first
        else {
            try await end(run, with: [], db: db, now: now)
            return nil
        }
        let wasStreaming = chat.status == .streaming
        if wasStreaming {
            chat.response = frames.filter { $0.type == "chat_token" }.compactMap { $0.object?["token"]?.stringValue }.joined()
            chat.status = .interrupted
            chat.error = chat.error ?? StartupRepair.interruptedMessage
            chat.completionTokens = TokenEstimate.count(chat.response)
            chat.updatedAt = now
            try await db.update(chat)
        }
        let usage = Usage(promptTokens: chat.promptTokens ?? 0, completionTokens: chat.completionTokens ?? 0)
        let completion = ChatCompletion(dbId: chat.id!, response: chat.response, status: chat.status, usage: usage,
                                        metrics: StreamMetrics(ttftMilliseconds: 0, durationMilliseconds: 0, tokensPerSecond: 0),
                                        sources: chat.sources, failure: nil)
        let frame = ChatFrame(chatId: run.id, seq: run.lastSeq + 1, kind: .complete(completion))
        try await end(run, with: [RunFrame(seq: frame.seq, type: frame.type,
                                           json: frame.json(extra: run.frameExtra.objectValue ?? [:]).serializedString)],
                      db: db, now: now)
        return wasStreaming ? chat.id : nil
    }

    private static func keepWaiting(_ id: String, db: PostgresTransaction) async throws -> Bool {
        try await !db.fetchAll("UPDATE agent_invocations SET status = ? WHERE id = ? AND status IN (?, ?) RETURNING id",
                               [AgentInvocation.Status.waiting.rawValue, id, AgentInvocation.Status.running.rawValue,
                                AgentInvocation.Status.waiting.rawValue]).isEmpty
    }

    private static func endAgentRun(_ run: RunRecord, state: AgentLogState, db: PostgresTransaction, now: Date) async throws {
        guard var invocation = try await db.records(AgentInvocation.self, "SELECT * FROM agent_invocations WHERE id = ?", [run.id]).first
        else {
            try await end(run, with: [], db: db, now: now)
            return
        }
        if invocation.status == .running || invocation.status == .waiting {
            invocation.status = .interrupted
            invocation.error = invocation.error ?? StartupRepair.interruptedMessage
            invocation.response = state.lastStepText
            invocation.steps = max(invocation.steps, state.lastStep)
            invocation.finishedAt = now
            try await db.update(invocation)
            if let chatId = invocation.chatId {
                try await db.execute("""
                    UPDATE workspace_chats SET status = ?, response = ?, error = COALESCE(error, ?), updated_at = ?
                    WHERE id = ? AND status = ?
                    """, [Chat.Status.interrupted.rawValue, state.lastStepText, StartupRepair.interruptedMessage, now, chatId,
                          Chat.Status.streaming.rawValue])
            }
        }
        guard !state.hasEnded else { return try await end(run, with: [], db: db, now: now) }
        let completion = AgentCompletion(
            status: invocation.status, response: invocation.response, dbId: invocation.chatId ?? 0, steps: invocation.steps,
            usage: Usage(promptTokens: invocation.promptTokens, completionTokens: invocation.completionTokens),
            durationMilliseconds: ((invocation.finishedAt ?? now).timeIntervalSince(invocation.createdAt) * 1000).rounded())
        try await end(run, with: [AgentEvent.complete(completion).frame(invocationId: run.id, seq: run.lastSeq + 1)], db: db, now: now)
    }

    private static func end(_ run: RunRecord, with frames: [RunFrame], db: PostgresTransaction, now: Date) async throws {
        var batch = RunLogBatch()
        if !frames.isEmpty { batch.frames = [(run.id, frames)] }
        batch.ended = [(run.id, now)]
        try await write(batch, in: db, owner: "", leaseSeconds: 0)
    }

    /// How old a `streaming` chat or `running` invocation with no unended run must be to count as
    /// an orphan: far beyond the run log's batch interval, within which a new run's row appears.
    public static let orphanAge: TimeInterval = 60
}
