import Foundation
import GRDB
import Logging
import NIOCore
import PostgresNIO

/// Runs queries on something that can: the pooled client, or one connection inside a transaction.
protocol PostgresExecutor: Sendable {
    /// Every row of the statement's result.
    func rows(_ statement: PostgresStatement) async throws -> [PostgresRow]
}

extension PostgresExecutor {
    /// Runs a statement whose rows are not needed.
    func execute(_ sql: String, _ values: [(any DatabaseValueConvertible)?] = []) async throws {
        _ = try await rows(PostgresStatement(sql, values))
    }

    /// The rows of `sql` as GRDB rows (see ``PostgresValues``).
    func fetchAll(_ sql: String, _ values: [(any DatabaseValueConvertible)?] = []) async throws -> [Row] {
        try await rows(PostgresStatement(sql, values)).map(PostgresValues.row)
    }

    func fetchAll(_ statement: PostgresStatement) async throws -> [Row] {
        try await rows(statement).map(PostgresValues.row)
    }

    func fetchOne(_ sql: String, _ values: [(any DatabaseValueConvertible)?] = []) async throws -> Row? {
        try await fetchAll(sql, values).first
    }

    /// The first column of the first row.
    func scalar<Value: DatabaseValueConvertible>(_ type: Value.Type, _ sql: String,
                                                 _ values: [(any DatabaseValueConvertible)?] = []) async throws -> Value? {
        guard let row = try await fetchOne(sql, values), let first = row.databaseValues.first else { return nil }
        return Value.fromDatabaseValue(first)
    }

    /// Records of `sql`'s rows.
    func records<Record: FetchableRecord>(_ type: Record.Type, _ sql: String,
                                          _ values: [(any DatabaseValueConvertible)?] = []) async throws -> [Record] {
        try await fetchAll(sql, values).map { try Record(row: $0) }
    }

    /// Inserts a record and returns it as stored (with its new id).
    func insert<Record: FetchableRecord & EncodableRecord & TableRecord>(_ record: Record) async throws -> Record {
        var columns: [String] = []
        var arguments: [PostgresArgument] = []
        for (name, value) in try record.databaseDictionary.sorted(by: { $0.key < $1.key }) {
            // A nil id is the database's to assign.
            if name == "id", value.isNull { continue }
            columns.append(name)
            arguments.append(PostgresValues.column(name, value))
        }
        var statement = PostgresStatement("""
            INSERT INTO \(Record.databaseTableName) (\(columns.joined(separator: ", ")))
            VALUES (\(Array(repeating: "?", count: columns.count).joined(separator: ", "))) RETURNING id
            """)
        statement.arguments = arguments
        guard let id = try await fetchAll(statement).first?.databaseValues.first else {
            throw PostgresStorageError("INSERT returned no row")
        }
        // The record as written, with the id the database gave it (not re-read: no generated columns travel back).
        var stored = try record.databaseDictionary
        stored["id"] = id
        return try Record(row: Row(stored))
    }

    /// Writes every column of a record onto its row, found by `key` (its primary key column).
    func update<Record: EncodableRecord & TableRecord>(_ record: Record, key: String = "id",
                                                       columns only: Set<String>? = nil) async throws {
        let dictionary = try record.databaseDictionary
        guard let keyValue = dictionary[key] else { throw PostgresStorageError("record has no \(key)") }
        var assignments: [String] = []
        var arguments: [PostgresArgument] = []
        for (name, value) in dictionary.sorted(by: { $0.key < $1.key }) where name != key && (only?.contains(name) ?? true) {
            assignments.append("\(name) = ?")
            arguments.append(PostgresValues.column(name, value))
        }
        var statement = PostgresStatement("UPDATE \(Record.databaseTableName) SET \(assignments.joined(separator: ", ")) WHERE \(key) = ?")
        statement.arguments = arguments + [PostgresValues.column(key, keyValue)]
        _ = try await rows(statement)
    }
}

/// A PostgreSQL database reached through a pool of connections (`PostgresClient`).
///
/// The pool works only while ``run()`` runs: the server runs it as one of its services, and
/// ``withRunning(url:logger:_:)`` runs it around a body (commands, tests).
public final class PostgresDatabase: PostgresExecutor, Sendable {
    public let client: PostgresClient
    let logger: Logger

    /// Opens a pool for `url` (`postgres://USER:PASS@HOST:PORT/DB`, optional `?sslmode=disable|prefer|require`).
    public init(url: String, maximumConnections: Int = 20, logger: Logger) throws {
        var configuration = try Self.configuration(url: url)
        configuration.options.maximumConnections = maximumConnections
        // The pool's own log: errors only. It warns about every lease requested before `run()` has
        // been scheduled, which `withRunning` does by design (the lease waits for it).
        var background = logger
        background.logLevel = max(logger.logLevel, .error)
        self.client = PostgresClient(configuration: configuration, backgroundLogger: background)
        self.logger = logger
    }

    /// Keeps the pool's connections until cancelled.
    public func run() async {
        await client.run()
    }

    /// Runs the pool around `body`: for commands and tests that are not a service group.
    public static func withRunning<Result: Sendable>(
        url: String, maximumConnections: Int = 20, logger: Logger,
        _ body: @Sendable (PostgresDatabase) async throws -> Result
    ) async throws -> Result {
        let database = try PostgresDatabase(url: url, maximumConnections: maximumConnections, logger: logger)
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await database.run() }
            defer { group.cancelAll() }
            return try await body(database)
        }
    }

    func rows(_ statement: PostgresStatement) async throws -> [PostgresRow] {
        try await PostgresQueryError.explaining(statement) {
            try await client.query(try statement.query(), logger: logger).collect()
        }
    }

    /// How a transaction isolates itself.
    enum Isolation: String {
        case readCommitted = "READ COMMITTED"
        case serializable = "SERIALIZABLE"
    }

    /// Runs `body` in one transaction on one connection: committed when it returns, rolled back when
    /// it throws (its own error is rethrown, so an `APIError` reaches the client as is).
    func transaction<Result: Sendable>(
        _ isolation: Isolation = .readCommitted, _ body: @Sendable (PostgresTransaction) async throws -> Result
    ) async throws -> Result {
        try await client.withConnection { connection in
            let transaction = PostgresTransaction(connection: connection, logger: logger)
            try await connection.query("BEGIN ISOLATION LEVEL \(unescaped: isolation.rawValue)", logger: logger)
            do {
                let result = try await body(transaction)
                try await connection.query("COMMIT", logger: logger)
                return result
            } catch {
                // A broken connection fails the rollback too; the pool drops it, and the server ends the transaction.
                _ = try? await connection.query("ROLLBACK", logger: logger)
                throw error
            }
        }
    }

    static func configuration(url: String) throws -> PostgresClient.Configuration {
        guard let components = URLComponents(string: url), let scheme = components.scheme,
              ["postgres", "postgresql"].contains(scheme), let host = components.host, !host.isEmpty
        else {
            throw PostgresStorageError("The database URL must look like postgres://USER:PASSWORD@HOST:PORT/DATABASE; got '\(redacted(url))'.")
        }
        let database = components.path.hasPrefix("/") ? String(components.path.dropFirst()) : components.path
        let sslMode = components.queryItems?.first { $0.name == "sslmode" }?.value ?? "prefer"
        let tls: PostgresClient.Configuration.TLS
        switch sslMode {
        case "disable": tls = .disable
        case "prefer", "allow": tls = .prefer(.makeClientConfiguration())
        case "require", "verify-ca", "verify-full": tls = .require(.makeClientConfiguration())
        default: throw PostgresStorageError("Unknown sslmode '\(sslMode)'; use disable, prefer or require.")
        }
        return PostgresClient.Configuration(
            host: host, port: components.port ?? 5432, username: components.user?.removingPercentEncoding ?? "postgres",
            password: components.password?.removingPercentEncoding, database: database.isEmpty ? nil : database, tls: tls)
    }

    /// SQLSTATE of a unique-constraint violation.
    static let uniqueViolation = "23505"
    /// SQLSTATE of a serialization failure (a SERIALIZABLE transaction to retry).
    static let serializationFailure = "40001"

    /// The SQLSTATE the server answered a failed statement with.
    static func sqlState(of error: any Error) -> String? {
        (error as? PostgresQueryError)?.sqlState ?? (error as? PSQLError)?.serverInfo?[.sqlState]
    }

    /// The URL without its password, for messages and logs.
    public static func redacted(_ url: String) -> String {
        guard var components = URLComponents(string: url), components.password != nil else { return url }
        components.password = "***"
        return components.string ?? "postgres://…"
    }
}

/// One connection inside a transaction of ``PostgresDatabase/transaction(_:_:)``.
struct PostgresTransaction: PostgresExecutor {
    let connection: PostgresConnection
    let logger: Logger

    func rows(_ statement: PostgresStatement) async throws -> [PostgresRow] {
        try await PostgresQueryError.explaining(statement) {
            try await connection.query(try statement.query(), logger: logger).collect()
        }
    }
}

extension PostgresDatabase {
    /// `CREATE DATABASE` (tests and benchmarks make one per run). `name` must be a plain identifier.
    public func createDatabase(named name: String) async throws {
        guard !name.isEmpty, name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") }) else {
            throw PostgresStorageError("'\(name)' is not a plain database name.")
        }
        try await execute("CREATE DATABASE \(name)")
    }
}

/// A statement the server refused, with its SQLSTATE and message (postgres-nio's own error hides
/// both from `description`, which is what logs and test reports print). Arguments are never included.
public struct PostgresQueryError: Error, CustomStringConvertible {
    public var sqlState: String?
    public var message: String
    public var sql: String

    public var description: String { "PostgreSQL error \(sqlState ?? "?"): \(message) [\(sql)]" }

    static func explaining<Result>(_ statement: PostgresStatement, _ body: () async throws -> Result) async throws -> Result {
        do {
            return try await body()
        } catch let error as PSQLError {
            let sqlState = error.serverInfo?[.sqlState]
            // PostgreSQL's text cannot hold U+0000, which JSON strings and SQLite's text can: the client's
            // value, not a fault of the server (PROTOCOL §1).
            if sqlState == characterNotInRepertoire {
                throw APIError.validation("A text value holds a character the database cannot store (U+0000, NUL); remove it.")
            }
            throw PostgresQueryError(sqlState: sqlState, message: error.serverInfo?[.message] ?? "\(error.code)", sql: statement.sql)
        }
    }

    /// SQLSTATE 22021: a NUL character, or bytes not valid in the database's encoding.
    static let characterNotInRepertoire = "22021"
}
