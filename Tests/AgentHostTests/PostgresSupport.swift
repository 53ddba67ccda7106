import AgentHostTesting
import ChatBridge
import Foundation
import Logging
import Testing

/// The tests that need PostgreSQL: one private cluster (``PostgresTestCluster``) started before the
/// first of them and stopped after the last. Without PostgreSQL installed they fail, naming what to
/// install: they never skip.
@Suite(.postgresCluster)
struct PostgresBacked {}

/// Starts a cluster around the suite it is attached to and makes it ``PostgresClusterTrait/current``.
struct PostgresClusterTrait: SuiteTrait, TestScoping {
    var isRecursive: Bool { false }

    @TaskLocal static var current: PostgresTestCluster?

    func provideScope(for test: Test, testCase: Test.Case?, performing function: @Sendable () async throws -> Void) async throws {
        let cluster = try await PostgresTestCluster.start()
        defer { cluster.stop() }
        try await Self.$current.withValue(cluster) { try await function() }
    }

    /// The cluster of the running suite.
    static func cluster() throws -> PostgresTestCluster {
        try #require(current, "a PostgreSQL test must be inside the PostgresBacked suite")
    }
}

extension Trait where Self == PostgresClusterTrait {
    static var postgresCluster: Self { PostgresClusterTrait() }
}

/// The storage backends every conformance check runs against.
enum Backend: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case sqlite
    case postgres

    var testDescription: String { rawValue }

    /// Runs `body` over a new, empty, migrated database of this backend.
    func withStorage(_ body: @Sendable (Storage) async throws -> Void) async throws {
        switch self {
        case .sqlite:
            try await body(.sqlite(try AppDatabase.inMemory()))
        case .postgres:
            try await Self.withPostgres { database in try await body(.postgres(database)) }
        }
    }

    /// Runs `body` over a new database with two views of it: the stores of a process that died
    /// (on PostgreSQL, an instance whose leases have all expired) and those of the process now
    /// starting; on SQLite, which one process owns, both are the same.
    func withDeadAndLiveStorage(_ body: @Sendable (_ dead: Storage, _ live: Storage) async throws -> Void) async throws {
        switch self {
        case .sqlite:
            let storage = Storage.sqlite(try AppDatabase.inMemory())
            try await body(storage, storage)
        case .postgres:
            try await Self.withPostgres { database in
                try await body(.postgres(database, instanceId: "dead-instance", leaseDuration: .zero), .postgres(database))
            }
        }
    }

    /// A new, migrated PostgreSQL database of the suite's cluster, its pool running for `body`.
    static func withPostgres<Result: Sendable>(maximumConnections: Int = 10,
                                               _ body: @Sendable (PostgresDatabase) async throws -> Result) async throws -> Result {
        let url = try await PostgresClusterTrait.cluster().createDatabase()
        var logger = Logger(label: "postgres-test")
        logger.logLevel = .warning
        return try await PostgresDatabase.withRunning(url: url, maximumConnections: maximumConnections, logger: logger) { database in
            try await PostgresSchema.migrate(database)
            return try await body(database)
        }
    }
}
