import Foundation
import ArgumentParser

extension Environment {
    /// A whole-number setting: the flag's value, else the environment variable's, checked against
    /// `range`; `nil` when neither is set (the default applies).
    static func integer(_ flag: Int?, _ variable: String, in range: ClosedRange<Int>) throws -> Int? {
        guard let value = try flag ?? value(variable).map({ text -> Int in
            guard let number = Int(text) else { throw ValidationError("\(variable) must be an integer; got '\(text)'.") }
            return number
        }) else { return nil }
        guard range.contains(value) else {
            throw ValidationError("\(variable) (or its flag) must be from \(range.lowerBound) to \(range.upperBound); got \(value).")
        }
        return value
    }

    /// A decimal setting (seconds, days): the flag's value, else the environment variable's, checked
    /// against `range` (its lower bound excluded: a zero duration means nothing); `nil` when neither is set.
    static func decimal(_ flag: Double?, _ variable: String, above lowerBound: Double, upTo upperBound: Double,
                        flagName: String) throws -> Double? {
        guard let value = try flag ?? value(variable).map({ text -> Double in
            guard let number = Double(text) else { throw ValidationError("\(variable) must be a number; got '\(text)'.") }
            return number
        }) else { return nil }
        guard value > lowerBound, value <= upperBound else {
            throw ValidationError("\(flagName) (\(variable)) must be above \(lowerBound.formatted()) and at most \(upperBound.formatted()); got \(value).")
        }
        return value
    }
}
