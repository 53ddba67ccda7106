import Foundation
import GRDB

/// What a dead process left behind, repaired at start-up (PROTOCOL §8): a run the log shows
/// unfinished, or a row still `streaming` or `running`, belongs to a process that no longer exists,
/// because only the serving process writes those states and it repairs them before it accepts a request.
///
/// - A chat generation without a terminal frame gets one: `chat_complete` with `status: "interrupted"`
///   and the response as logged; its row becomes `interrupted` with that response.
/// - An agent run that waits only on its client (tool results or approvals) becomes `waiting`: the
///   server continues it when they arrive (``Report/waitingInvocations``).
/// - Any other unfinished agent run ends `interrupted`, with an `agent_complete` frame logged.
///
/// The repair runs once, before the server listens, on a data directory one server owns.
/// ``StartupRepairing`` is the seam each backend implements.
public enum StartupRepair {
    /// The rows a repair changed.
    public struct Report: Sendable, Equatable {
        /// Chats that were `streaming`; now `interrupted`, with the response they had logged.
        public var interruptedChats: [Int64] = []
        /// Agent invocations that were `running`; now `interrupted`.
        public var interruptedInvocations: [String] = []
        /// Agent invocations waiting on their clients, to be continued.
        public var waitingInvocations: [String] = []

        public var isEmpty: Bool { interruptedChats.isEmpty && interruptedInvocations.isEmpty && waitingInvocations.isEmpty }
    }

    static let interruptedMessage = "The server stopped before this run finished."

    /// Repairs every unfinished run, in one transaction.
    ///
    /// Interrupted chats keep counting against the daily limit, as failed and cancelled ones do:
    /// the limit counts the prompts a user sent today, whatever became of them.
    @discardableResult
    public static func run(_ writer: any DatabaseWriter, now: Date = Timestamp.now()) async throws -> Report {
        try await writer.write { db in
            var report = Report()
            for run in try RunRecord.filter(Column("ended_at") == nil).fetchAll(db) {
                let frames = try SQLiteStore.frames(db, runId: run.id, after: -1)
                switch run.kind {
                case .chat:
                    if let chatId = try endChat(run, frames: frames, db: db, now: now) { report.interruptedChats.append(chatId) }
                case .agent:
                    let state = AgentLogState(frames: frames)
                    if state.isWaitingOnClient, try keepWaiting(run.id, db: db) {
                        report.waitingInvocations.append(run.id)
                    } else {
                        try endAgentRun(run, state: state, db: db, now: now)
                        report.interruptedInvocations.append(run.id)
                    }
                }
            }
            // Rows no run log covers (written before the log existed, or whose log was lost).
            report.interruptedChats += try Int64.fetchAll(db, sql: """
                UPDATE workspace_chats SET status = ?, error = COALESCE(error, ?), updated_at = ?
                WHERE status = ? AND id NOT IN (SELECT chat_id FROM agent_invocations WHERE status = ? AND chat_id IS NOT NULL)
                RETURNING id
                """, arguments: [Chat.Status.interrupted.rawValue, interruptedMessage, now, Chat.Status.streaming.rawValue,
                                 AgentInvocation.Status.waiting.rawValue])
            report.interruptedInvocations += try String.fetchAll(db, sql: """
                UPDATE agent_invocations SET status = ?, error = COALESCE(error, ?), finished_at = ?
                WHERE status = ? RETURNING id
                """, arguments: [AgentInvocation.Status.interrupted.rawValue, interruptedMessage, now,
                                 AgentInvocation.Status.running.rawValue])
            report.interruptedChats = Array(Set(report.interruptedChats)).sorted()
            report.interruptedInvocations = Array(Set(report.interruptedInvocations)).sorted()
            report.waitingInvocations.sort()
            return report
        }
    }

    /// Logs the generation's terminal frame and stores the chat as it ended; the chat's row id when
    /// it was still `streaming`.
    private static func endChat(_ run: RunRecord, frames: [RunFrame], db: Database, now: Date) throws -> Int64? {
        guard var chat = try Chat.filter(Column("chat_uuid") == run.id).fetchOne(db) else {
            try end(run, with: [], db: db, now: now)
            return nil
        }
        let wasStreaming = chat.status == .streaming
        if wasStreaming {
            chat.response = frames.filter { $0.type == "chat_token" }.compactMap { $0.object?["token"]?.stringValue }.joined()
            chat.status = .interrupted
            chat.error = chat.error ?? interruptedMessage
            chat.completionTokens = TokenEstimate.count(chat.response)
            chat.updatedAt = now
            try chat.update(db)
        }
        let usage = Usage(promptTokens: chat.promptTokens ?? 0, completionTokens: chat.completionTokens ?? 0)
        let completion = ChatCompletion(dbId: chat.id!, response: chat.response, status: chat.status, usage: usage,
                                        metrics: StreamMetrics(ttftMilliseconds: 0, durationMilliseconds: 0, tokensPerSecond: 0),
                                        sources: chat.sources, failure: nil)
        let frame = ChatFrame(chatId: run.id, seq: run.lastSeq + 1, kind: .complete(completion))
        try end(run, with: [RunFrame(seq: frame.seq, type: frame.type, json: frame.json(extra: run.frameExtra.objectValue ?? [:]).serializedString)],
                db: db, now: now)
        return wasStreaming ? chat.id : nil
    }

    /// Marks a run that waits on its client `waiting`; false when its row is gone or already ended.
    private static func keepWaiting(_ id: String, db: Database) throws -> Bool {
        try db.execute(sql: "UPDATE agent_invocations SET status = ? WHERE id = ? AND status IN (?, ?)",
                       arguments: [AgentInvocation.Status.waiting.rawValue, id, AgentInvocation.Status.running.rawValue,
                                   AgentInvocation.Status.waiting.rawValue])
        return db.changesCount > 0
    }

    private static func endAgentRun(_ run: RunRecord, state: AgentLogState, db: Database, now: Date) throws {
        guard var invocation = try AgentInvocation.fetchOne(db, key: run.id) else {
            try end(run, with: [], db: db, now: now)
            return
        }
        let unfinished = invocation.status == .running || invocation.status == .waiting
        if unfinished {
            invocation.status = .interrupted
            invocation.error = invocation.error ?? interruptedMessage
            invocation.response = state.lastStepText
            invocation.steps = max(invocation.steps, state.lastStep)
            invocation.finishedAt = now
            try invocation.update(db)
            if let chatId = invocation.chatId {
                try db.execute(sql: """
                    UPDATE workspace_chats SET status = ?, response = ?, error = COALESCE(error, ?), updated_at = ?
                    WHERE id = ? AND status = ?
                    """, arguments: [Chat.Status.interrupted.rawValue, state.lastStepText, interruptedMessage, now, chatId,
                                     Chat.Status.streaming.rawValue])
            }
        }
        guard !state.hasEnded else { return try end(run, with: [], db: db, now: now) }
        let completion = AgentCompletion(
            status: invocation.status, response: invocation.response, dbId: invocation.chatId ?? 0, steps: invocation.steps,
            usage: Usage(promptTokens: invocation.promptTokens, completionTokens: invocation.completionTokens),
            durationMilliseconds: ((invocation.finishedAt ?? now).timeIntervalSince(invocation.createdAt) * 1000).rounded())
        try end(run, with: [AgentEvent.complete(completion).frame(invocationId: run.id, seq: run.lastSeq + 1)], db: db, now: now)
    }

    private static func end(_ run: RunRecord, with frames: [RunFrame], db: Database, now: Date) throws {
        var batch = RunLogBatch()
        if !frames.isEmpty { batch.frames = [(run.id, frames)] }
        batch.ended = [(run.id, now)]
        try SQLiteStore.write(batch, db: db)
    }
}

/// Start-up repair as a storage backend performs it (``StartupRepair`` describes the outcomes).
public protocol StartupRepairing: Sendable {
    /// Repairs every unfinished run in one transaction; returns what changed.
    func repairUnfinishedRuns(now: Date) async throws -> StartupRepair.Report
}

extension SQLiteStore: StartupRepairing {
    public func repairUnfinishedRuns(now: Date) async throws -> StartupRepair.Report {
        try await StartupRepair.run(writer, now: now)
    }
}
