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
}
