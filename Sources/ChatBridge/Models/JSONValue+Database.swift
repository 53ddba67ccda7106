import GRDB

/// JSON values are stored as JSON text, whatever their shape (a bare string included).
extension JSONValue: DatabaseValueConvertible {
    public var databaseValue: DatabaseValue {
        serializedString.databaseValue
    }

    public static func fromDatabaseValue(_ dbValue: DatabaseValue) -> JSONValue? {
        guard let text = String.fromDatabaseValue(dbValue) else { return nil }
        return try? JSONValue(parsing: text)
    }
}
