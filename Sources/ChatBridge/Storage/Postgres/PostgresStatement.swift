import Foundation
import GRDB
import PostgresNIO

/// One SQL statement for PostgreSQL with its arguments, written with `?` placeholders like the
/// SQLite queries it mirrors and numbered (`$1`, `$2`, …) when it is sent.
///
/// The SQL of this backend never holds a `?` of its own (no JSON operators, no `?` in literals),
/// so every `?` is a placeholder.
struct PostgresStatement: Sendable {
    var sql: String
    var arguments: [PostgresArgument]

    init(_ sql: String, _ values: [(any DatabaseValueConvertible)?] = []) {
        self.sql = sql
        self.arguments = values.map(PostgresArgument.init)
    }

    /// Appends SQL and its arguments.
    mutating func append(_ sql: String, _ values: [(any DatabaseValueConvertible)?] = []) {
        self.sql += sql
        self.arguments += values.map(PostgresArgument.init)
    }

    /// The statement as postgres-nio sends it.
    func query() throws -> PostgresQuery {
        var numbered = ""
        numbered.reserveCapacity(sql.utf8.count + arguments.count * 2)
        var index = 0
        for character in sql {
            if character == "?" {
                index += 1
                numbered += "$\(index)"
            } else {
                numbered.append(character)
            }
        }
        guard index == arguments.count else {
            throw PostgresStorageError("statement has \(index) placeholders but \(arguments.count) arguments: \(sql)")
        }
        var bindings = PostgresBindings(capacity: arguments.count)
        for argument in arguments { argument.bind(to: &bindings) }
        return PostgresQuery(unsafeSQL: numbered, binds: bindings)
    }
}

/// One argument of a ``PostgresStatement``, typed as PostgreSQL receives it.
enum PostgresArgument: Sendable {
    case null
    case integer(Int64)
    case double(Double)
    case text(String)
    case boolean(Bool)
    case timestamp(Date)
    case bytes(Data)

    /// Dates and booleans keep their PostgreSQL types; everything else is sent as GRDB stores it.
    init(_ value: (any DatabaseValueConvertible)?) {
        switch value {
        case nil: self = .null
        case let date as Date: self = .timestamp(date)
        case let flag as Bool: self = .boolean(flag)
        case let value?: self.init(value.databaseValue)
        }
    }

    init(_ value: DatabaseValue) {
        switch value.storage {
        case .null: self = .null
        case .int64(let integer): self = .integer(integer)
        case .double(let double): self = .double(double)
        case .string(let string): self = .text(string)
        case .blob(let data): self = .bytes(data)
        }
    }

    func bind(to bindings: inout PostgresBindings) {
        switch self {
        case .null: bindings.appendNull()
        case .integer(let integer): bindings.append(integer)
        case .double(let double): bindings.append(double)
        case .text(let string): bindings.append(string)
        case .boolean(let flag): bindings.append(flag)
        case .timestamp(let date): bindings.append(date)
        case .bytes(let data): bindings.append(ByteBuffer(bytes: data))
        }
    }
}

/// A failure of the PostgreSQL backend itself (not of a query's data).
public struct PostgresStorageError: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// Conversions between GRDB's values (what the records encode to and decode from) and PostgreSQL's.
///
/// The records keep one definition for both backends: a record is written from its GRDB
/// `databaseDictionary` and read back through a GRDB `Row` built from the PostgreSQL row. Columns
/// whose SQLite storage differs are converted by name: `*_at` columns are `timestamptz`, and
/// ``booleanColumns`` are `boolean` (SQLite stores both as text and integers).
enum PostgresValues {
    static let booleanColumns: Set<String> = ["suspended", "feedback", "include", "pinned", "is_error"]

    /// The argument a record's column is written with.
    static func column(_ name: String, _ value: DatabaseValue) -> PostgresArgument {
        switch value.storage {
        case .int64(let integer) where booleanColumns.contains(name):
            return .boolean(integer != 0)
        case .string where name.hasSuffix("_at"):
            return Date.fromDatabaseValue(value).map(PostgresArgument.timestamp) ?? PostgresArgument(value)
        default:
            return PostgresArgument(value)
        }
    }

    /// A GRDB row holding the PostgreSQL row's values, for `FetchableRecord(row:)` and subscripts.
    static func row(_ row: PostgresRow) throws -> Row {
        var dictionary: [String: (any DatabaseValueConvertible)?] = [:]
        for cell in row {
            dictionary[cell.columnName] = try value(of: cell)
        }
        return Row(dictionary)
    }

    static func value(of cell: PostgresCell) throws -> (any DatabaseValueConvertible)? {
        guard cell.bytes != nil else { return nil }
        switch cell.dataType {
        case .int8: return try cell.decode(Int64.self)
        case .int4: return Int64(try cell.decode(Int32.self))
        case .int2: return Int64(try cell.decode(Int16.self))
        case .bool: return try cell.decode(Bool.self)
        case .float8: return try cell.decode(Double.self)
        case .float4: return Double(try cell.decode(Float.self))
        case .timestamptz, .timestamp:
            // Timestamps are millisecond values (``Timestamp``); postgres-nio truncates to microseconds.
            let date = try cell.decode(Date.self)
            return Date(timeIntervalSince1970: (date.timeIntervalSince1970 * 1000).rounded() / 1000)
        case .bytea:
            var buffer = try cell.decode(ByteBuffer.self)
            return Data(buffer.readBytes(length: buffer.readableBytes) ?? [])
        default:
            // Text, and types the stores never read (a `tsvector` of `*`): those come back as nothing.
            return try? cell.decode(String.self)
        }
    }
}
