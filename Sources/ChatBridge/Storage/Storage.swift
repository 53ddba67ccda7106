import Foundation
import GRDB

/// Every store the server uses, from one backend: the embedded SQLite file (the default) or
/// PostgreSQL (`--database-url`, PROTOCOL §9). Routes, engines and start-up talk to these
/// protocols only, never to a database handle.
public struct Storage: Sendable {
    public var chats: any ChatStore
    public var accounts: any AccountStore
    public var notes: any NoteStore
    public var invocations: any InvocationStore
    /// The durable run log (PROTOCOL §8).
    public var runLog: any RunLogStore
    public var search: any ChatSearchStore
    public var export: any ChatExportSource
    /// Workspace documents and what retrieval and re-embedding read of them.
    public var documents: any DocumentIndexStore
    /// What start-up repair does on this backend.
    public var repair: any StartupRepairing
    /// Which backend this is, for logs (`sqlite` or `postgres`).
    public var backend: String

    /// The stores over one SQLite database (a pool in production, an in-memory queue in tests).
    public static func sqlite(_ writer: any DatabaseWriter) -> Storage {
        let store = SQLiteStore(writer: writer)
        return Storage(chats: store, accounts: store, notes: store, invocations: store, runLog: store, search: store,
                       export: store, documents: SQLiteDocumentStore(writer: writer), repair: store, backend: "sqlite")
    }

    /// The stores over one PostgreSQL database, whose pool must be running (``PostgresDatabase/run()``).
    public static func postgres(_ database: PostgresDatabase) -> Storage {
        let store = PostgresStore(database: database)
        return Storage(chats: store, accounts: store, notes: store, invocations: store, runLog: store, search: store,
                       export: store, documents: PostgresDocumentStore(database: database), repair: store, backend: "postgres")
    }
}
