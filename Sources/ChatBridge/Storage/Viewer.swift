/// Who is asking: decides which rows a query may see or change.
public struct Viewer: Sendable, Equatable {
    /// The signed-in user; `nil` in single-user mode and for administrator API keys.
    public var userId: Int64?
    public var isAdmin: Bool

    public init(userId: Int64?, isAdmin: Bool) {
        self.userId = userId
        self.isAdmin = isAdmin
    }

    /// The implicit owner of a single-user installation.
    public static let singleUser = Viewer(userId: nil, isAdmin: true)

    /// Whether this viewer may see or change a row owned by `ownerId`.
    public func mayAccess(ownerId: Int64?) -> Bool {
        isAdmin || ownerId == userId
    }
}
