/// Why an arithmetic expression could not be parsed or evaluated, with where it went wrong.
public struct ExpressionError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The category of failure, for callers and tests that branch on it.
    public enum Kind: Sendable, Equatable {
        case empty
        case tooLong
        case tooDeep
        case unexpectedCharacter
        case invalidNumber
        case unexpectedToken
        case trailingInput
        case unbalancedParentheses
        case unknownIdentifier
        case wrongArgumentCount
        case divisionByZero
        case domain
        case overflow
    }

    public var kind: Kind
    /// A complete sentence for a person or a model, already naming the position when there is one.
    public var message: String
    /// The 1-based character position the error refers to; `nil` when it concerns the whole input.
    public var position: Int?

    public init(_ kind: Kind, _ message: String, position: Int?) {
        self.kind = kind
        self.message = message
        self.position = position
    }

    public var description: String { message }
}
