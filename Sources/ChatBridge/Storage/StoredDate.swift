import Foundation
import GRDB

/// A date bound the way GRDB stores a `Date` (`yyyy-MM-dd HH:mm:ss.SSS`, UTC), without going
/// through Foundation's `DateFormatter`.
///
/// Every answer writes three to five dates (the chat row, its end, the telemetry event, the run's
/// row and its end), and GRDB formats each with a `DateFormatter`: a percent of the relay's CPU.
/// The text is the same byte for byte (the formatter rounds to the nearest millisecond), so stored
/// rows compare and sort as before; dates the fast path does not cover go to GRDB's own conversion.
public struct StoredDate: DatabaseValueConvertible, Sendable, Equatable {
    public var date: Date

    public init(_ date: Date) {
        self.date = date
    }

    public var databaseValue: DatabaseValue {
        let milliseconds = (date.timeIntervalSince1970 * 1000).rounded()
        // Before 1970 the formatter rounds half-milliseconds the other way, and years past 9999
        // take five digits: neither is a date this server writes, so GRDB formats them.
        guard milliseconds >= 0, milliseconds < Timestamp.year10000 else { return date.databaseValue }
        let total = Int64(milliseconds)
        let (days, dayMilliseconds) = total.quotientAndRemainder(dividingBy: 86_400_000)
        let (year, month, day) = Timestamp.civilDate(daysSince1970: days)
        let seconds = dayMilliseconds / 1000
        let text = String(unsafeUninitializedCapacity: 23) { buffer in
            var index = 0
            func put(_ value: Int64, digits: Int) {
                var value = value
                for position in stride(from: index + digits - 1, through: index, by: -1) {
                    buffer[position] = UInt8(ascii: "0") + UInt8(value % 10)
                    value /= 10
                }
                index += digits
            }
            func put(_ separator: Unicode.Scalar) {
                buffer[index] = UInt8(ascii: separator)
                index += 1
            }
            put(year, digits: 4)
            put("-")
            put(month, digits: 2)
            put("-")
            put(day, digits: 2)
            put(" ")
            put(seconds / 3600, digits: 2)
            put(":")
            put(seconds / 60 % 60, digits: 2)
            put(":")
            put(seconds % 60, digits: 2)
            put(".")
            put(dayMilliseconds % 1000, digits: 3)
            return index
        }
        return text.databaseValue
    }

    public static func fromDatabaseValue(_ dbValue: DatabaseValue) -> StoredDate? {
        Date.fromDatabaseValue(dbValue).map(StoredDate.init)
    }
}
