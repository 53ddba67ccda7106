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
    /// Run leases and the bus between instances (PROTOCOL §9); `nil` on SQLite, which one process owns.
    public var cluster: ClusterBackplane?

    /// The stores over one SQLite database (a pool in production, an in-memory queue in tests).
    public static func sqlite(_ writer: any DatabaseWriter) -> Storage {
        let store = SQLiteStore(writer: writer)
        return Storage(chats: store, accounts: store, notes: store, invocations: store, runLog: store, search: store,
                       export: store, documents: SQLiteDocumentStore(writer: writer), repair: store, backend: "sqlite",
                       cluster: nil)
    }

    /// The stores over one PostgreSQL database, whose pool must be running (``PostgresDatabase/run()``).
    /// `instanceId` names this process as the owner of its runs; `leaseDuration` is how long another
    /// instance waits before it takes over the runs of one that stopped renewing its leases.
    public static func postgres(_ database: PostgresDatabase, instanceId: String = UUID.random().uuidString.lowercased(),
                                leaseDuration: Duration = .seconds(15)) -> Storage {
        let store = PostgresStore(database: database, instanceId: instanceId, leaseDuration: leaseDuration)
        return Storage(chats: store, accounts: store, notes: store, invocations: store, runLog: store, search: store,
                       export: store, documents: PostgresDocumentStore(database: database), repair: store, backend: "postgres",
                       cluster: ClusterBackplane(leases: store, loginFailures: store, secrets: store,
                                                 channel: PostgresBusChannel(database: database, logger: database.logger)))
    }
}
