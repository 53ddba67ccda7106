import GRDB

/// A record written on every answer (the chat when it begins, its telemetry event when it ends),
/// inserted with a statement prepared once per connection. GRDB's record insert builds the
/// statement's arguments through a container and looks its SQL up on every call, which cost as
/// much as SQLite's own work; one column list serves both that insert and ``encode(to:)``.
protocol PreparedInsertRecord: MutablePersistableRecord {
    /// Every column but `id`, in ``insertedValues()`` order.
    static var insertedColumns: [String] { get }
    /// The `INSERT` of ``insertedColumns``: a stored constant made by ``makeInsertSQL(columns:)``.
    static var insertSQL: String { get }
    var id: Int64? { get set }
    /// The values of ``insertedColumns``, as the row stores them.
    func insertedValues() throws -> [(any DatabaseValueConvertible)?]
}

extension PreparedInsertRecord {
    static func makeInsertSQL(columns: [String]) -> String {
        "INSERT INTO \(databaseTableName) (\(columns.joined(separator: ", "))) "
            + "VALUES (\(Array(repeating: "?", count: columns.count).joined(separator: ", ")))"
    }

    /// The record's columns, `id` included, for GRDB's own persistence methods.
    func encodeColumns(to container: inout PersistenceContainer) throws {
        container["id"] = id
        for (name, value) in zip(Self.insertedColumns, try insertedValues()) {
            container[name] = value
        }
    }

    /// Inserts this new record (its `id` is ignored) and sets `id`.
    mutating func insertNew(_ db: Database) throws {
        try db.cachedStatement(sql: Self.insertSQL).execute(arguments: StatementArguments(try insertedValues()))
        id = db.lastInsertedRowID
    }
}
