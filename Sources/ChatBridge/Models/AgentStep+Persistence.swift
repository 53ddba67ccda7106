import Foundation
import GRDB

/// An agent step's row, bound column by column instead of through GRDB's `Encodable` container:
/// a step is stored for every model turn and every tool call, and the `Codable` path (a keyed
/// container, a coding-key-to-column conversion and a type check per property) was most of an
/// insert's CPU in the agent benchmark's profile. One list of columns serves the record (`insert`,
/// and the PostgreSQL backend's `databaseDictionary`) and the run log's batch insert
/// (``RunLogBatch/steps``) alike.
extension AgentStep {
    /// The `agent_steps` columns.
    public enum Columns {
        public static let id = Column("id")
        public static let invocationId = Column("invocation_id")
        public static let step = Column("step")
        public static let kind = Column("kind")
        public static let callId = Column("call_id")
        public static let name = Column("name")
        public static let executor = Column("executor")
        public static let arguments = Column("arguments")
        public static let output = Column("output")
        public static let isError = Column("is_error")
        public static let text = Column("text")
        public static let toolCalls = Column("tool_calls")
        public static let promptTokens = Column("prompt_tokens")
        public static let completionTokens = Column("completion_tokens")
        public static let startedAt = Column("started_at")
        public static let durationMs = Column("duration_ms")
    }

    /// Every column but `id` (the database assigns it), in the order of ``insertValues``.
    static let insertColumns: [Column] = [
        Columns.invocationId, Columns.step, Columns.kind, Columns.callId, Columns.name, Columns.executor, Columns.arguments,
        Columns.output, Columns.isError, Columns.text, Columns.toolCalls, Columns.promptTokens, Columns.completionTokens,
        Columns.startedAt, Columns.durationMs,
    ]

    /// The step's values for ``insertColumns``, as GRDB's `Codable` encoding stored them: JSON as its
    /// compact text, dates in GRDB's date format (`timestamptz` on PostgreSQL), nil as NULL.
    var insertValues: [(any DatabaseValueConvertible)?] {
        [invocationId, step, kind.rawValue, callId, name, executor, arguments, output, isError, text, toolCalls,
         promptTokens, completionTokens, startedAt, durationMs]
    }

    /// `INSERT INTO agent_steps (…) VALUES (?, …)`: the same text for SQLite and PostgreSQL.
    static let insertSQL = """
        INSERT INTO \(databaseTableName) (\(insertColumns.map(\.name).joined(separator: ", "))) \
        VALUES (\(Array(repeating: "?", count: insertColumns.count).joined(separator: ", ")))
        """

    public func encode(to container: inout PersistenceContainer) throws {
        container[Columns.id] = id
        for (column, value) in zip(Self.insertColumns, insertValues) {
            container[column] = value
        }
    }
}
