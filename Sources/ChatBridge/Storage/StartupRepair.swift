import Foundation
import GRDB

/// What a dead process left behind, repaired at start-up (PROTOCOL §8): a row still `streaming` or
/// `running` belongs to a process that no longer exists, because only the serving process writes
/// those states and it repairs them before it accepts a request.
///
/// The repair runs once, before the server listens, on a data directory one server owns.
public enum StartupRepair {
    /// The rows a repair changed.
    public struct Report: Sendable, Equatable {
        /// Chats that were `streaming`; now `interrupted`, with the response they had stored.
        public var interruptedChats: [Int64] = []
        /// Agent invocations that were `running`; now `interrupted`.
        public var interruptedInvocations: [String] = []

        public var isEmpty: Bool { interruptedChats.isEmpty && interruptedInvocations.isEmpty }
    }

    static let interruptedMessage = "The server stopped before this run finished."

    /// Marks every unfinished generation and agent run `interrupted`, in one transaction.
    ///
    /// Interrupted chats keep counting against the daily limit, as failed and cancelled ones do:
    /// the limit counts the prompts a user sent today, whatever became of them.
    @discardableResult
    public static func run(_ writer: any DatabaseWriter, now: Date = Timestamp.now()) async throws -> Report {
        try await writer.write { db in
            var report = Report()
            report.interruptedChats = try Int64.fetchAll(db, sql: """
                UPDATE workspace_chats SET status = ?, error = COALESCE(error, ?), updated_at = ?
                WHERE status = ? RETURNING id
                """, arguments: [Chat.Status.interrupted.rawValue, interruptedMessage, now, Chat.Status.streaming.rawValue])
            // Every unfinished run ends here today. The durable run log (issue 12) changes this one
            // query: a run whose log shows it waiting on client tool results or approvals becomes
            // `waiting` and is resumed instead, and only the others are interrupted.
            report.interruptedInvocations = try String.fetchAll(db, sql: """
                UPDATE agent_invocations SET status = ?, error = COALESCE(error, ?), finished_at = ?
                WHERE status = ? RETURNING id
                """, arguments: [AgentInvocation.Status.interrupted.rawValue, interruptedMessage, now,
                                 AgentInvocation.Status.running.rawValue])
            report.interruptedChats.sort()
            report.interruptedInvocations.sort()
            return report
        }
    }
}
