import Foundation
import GRDB

/// Agent runs and their steps, so a run can be inspected after the fact.
public protocol InvocationStore: Sendable {
    func createInvocation(_ invocation: AgentInvocation) async throws
    func recordStep(_ step: AgentStep) async throws
    /// Stores a run's outcome: its status, response, steps, token counts, chat, error and finish
    /// time. The other columns are fixed when the run is created.
    func finishInvocation(_ invocation: AgentInvocation) async throws
    /// A run and its steps in order, when the viewer may see it.
    func invocation(id: String, viewer: Viewer) async throws -> (AgentInvocation, [AgentStep])?
    /// The latest run in a thread and its steps, when the viewer may see it (AG-UI continues it).
    func latestInvocation(threadId: Int64, viewer: Viewer) async throws -> (AgentInvocation, [AgentStep])?
    /// The runs the viewer may see, newest first, one page at a time (`InvocationStore+List.swift`).
    func invocations(_ query: InvocationListQuery, viewer: Viewer) async throws -> InvocationPage
}

extension SQLiteStore: InvocationStore {
    public func createInvocation(_ invocation: AgentInvocation) async throws {
        try await writer.write { db in
            try db.cachedStatement(sql: AgentInvocation.insertSQL).execute(arguments: StatementArguments(invocation.insertValues))
        }
    }

    public func recordStep(_ step: AgentStep) async throws {
        try await writer.write { db in try Self.insertSteps([step], db: db) }
    }

    public func finishInvocation(_ invocation: AgentInvocation) async throws {
        try await writer.write { db in
            try db.cachedStatement(sql: AgentInvocation.outcomeUpdateSQL)
                .execute(arguments: StatementArguments(invocation.outcomeUpdateValues))
        }
    }

    public func invocation(id: String, viewer: Viewer) async throws -> (AgentInvocation, [AgentStep])? {
        try await writer.read { db in
            guard let invocation = try AgentInvocation.fetchOne(db, key: id), viewer.mayAccess(ownerId: invocation.userId) else {
                return nil
            }
            let steps = try AgentStep.filter(Column("invocation_id") == id).order(Column("id")).fetchAll(db)
            return (invocation, steps)
        }
    }

    public func latestInvocation(threadId: Int64, viewer: Viewer) async throws -> (AgentInvocation, [AgentStep])? {
        try await writer.read { db in
            guard let invocation = try AgentInvocation.filter(Column("thread_id") == threadId)
                .order(Column("created_at").desc, Column.rowID.desc).fetchOne(db),
                viewer.mayAccess(ownerId: invocation.userId) else { return nil }
            let steps = try AgentStep.filter(Column("invocation_id") == invocation.id).order(Column("id")).fetchAll(db)
            return (invocation, steps)
        }
    }
}

extension SQLiteStore {
    /// Inserts steps in order with one prepared statement (cached by the connection).
    static func insertSteps(_ steps: [AgentStep], db: Database) throws {
        guard !steps.isEmpty else { return }
        let statement = try db.cachedStatement(sql: AgentStep.insertSQL)
        for step in steps {
            try statement.execute(arguments: StatementArguments(step.insertValues))
        }
    }
}
