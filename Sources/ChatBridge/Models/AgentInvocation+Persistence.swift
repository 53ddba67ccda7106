import Foundation
import GRDB

/// An agent run's row, bound column by column instead of through GRDB's `Encodable` container (as
/// ``AgentStep``'s is): the `Codable` path was the largest share of starting and finishing a run in
/// the agent benchmark's profile. Finishing writes only the columns a run's outcome changes, not its
/// opening context again, which holds the system prompt, document context and history.
extension AgentInvocation {
    /// The `agent_invocations` columns.
    public enum Columns {
        public static let id = Column("id")
        public static let workspaceId = Column("workspace_id")
        public static let threadId = Column("thread_id")
        public static let userId = Column("user_id")
        public static let requestId = Column("request_id")
        public static let message = Column("message")
        public static let status = Column("status")
        public static let response = Column("response")
        public static let chatId = Column("chat_id")
        public static let steps = Column("steps")
        public static let maxSteps = Column("max_steps")
        public static let clientTools = Column("client_tools")
        public static let promptTokens = Column("prompt_tokens")
        public static let completionTokens = Column("completion_tokens")
        public static let error = Column("error")
        public static let context = Column("context")
        public static let createdAt = Column("created_at")
        public static let finishedAt = Column("finished_at")
    }

    /// Every column, in the order of ``insertValues``.
    static let insertColumns: [Column] = [
        Columns.id, Columns.workspaceId, Columns.threadId, Columns.userId, Columns.requestId, Columns.message, Columns.status,
        Columns.response, Columns.chatId, Columns.steps, Columns.maxSteps, Columns.clientTools, Columns.promptTokens,
        Columns.completionTokens, Columns.error, Columns.context, Columns.createdAt, Columns.finishedAt,
    ]

    /// The run's values for ``insertColumns``, as GRDB's `Codable` encoding stored them: JSON as its
    /// compact text, dates in GRDB's date format (`timestamptz` on PostgreSQL), nil as NULL.
    var insertValues: [(any DatabaseValueConvertible)?] {
        [id, workspaceId, threadId, userId, requestId, message, status.rawValue, response, chatId, steps, maxSteps, clientTools,
         promptTokens, completionTokens, error, context, createdAt, finishedAt]
    }

    /// `INSERT INTO agent_invocations (…) VALUES (?, …)`: the same text for SQLite and PostgreSQL.
    static let insertSQL = """
        INSERT INTO \(databaseTableName) (\(insertColumns.map(\.name).joined(separator: ", "))) \
        VALUES (\(Array(repeating: "?", count: insertColumns.count).joined(separator: ", ")))
        """

    /// The columns a run's outcome sets; every other column is fixed when the run is created.
    static let outcomeColumns: [Column] = [
        Columns.status, Columns.response, Columns.chatId, Columns.steps, Columns.promptTokens, Columns.completionTokens,
        Columns.error, Columns.finishedAt,
    ]

    /// The values of ``outcomeColumns``, then the id: the arguments of ``outcomeUpdateSQL``.
    var outcomeUpdateValues: [(any DatabaseValueConvertible)?] {
        [status.rawValue, response, chatId, steps, promptTokens, completionTokens, error, finishedAt, id]
    }

    /// `UPDATE agent_invocations SET status = ?, … WHERE id = ?`: the same text for SQLite and PostgreSQL.
    static let outcomeUpdateSQL = """
        UPDATE \(databaseTableName) SET \(outcomeColumns.map { "\($0.name) = ?" }.joined(separator: ", ")) WHERE id = ?
        """

    public func encode(to container: inout PersistenceContainer) throws {
        for (column, value) in zip(Self.insertColumns, insertValues) {
            container[column] = value
        }
    }
}
