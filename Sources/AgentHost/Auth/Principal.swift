import ChatBridge

/// The authenticated caller of a request or WebSocket.
///
/// An immutable reference rather than a struct: it rides in every request's context, which every
/// middleware's async frame copies, and a long-lived connection's task keeps the largest stack it
/// ever reached (the task allocator does not give slabs back until the task ends). Inline, the user
/// and key records made each context copy 270 bytes instead of 80.
final class Principal: Sendable, Equatable {
    /// The signed-in user; `nil` in single-user mode and for administrator API keys.
    let user: User?
    /// The API key the request came with, if any.
    let apiKey: APIKey?

    init(user: User?, apiKey: APIKey?) {
        self.user = user
        self.apiKey = apiKey
    }

    static let singleUser = Principal(user: nil, apiKey: nil)

    static func == (lhs: Principal, rhs: Principal) -> Bool {
        lhs === rhs || (lhs.user == rhs.user && lhs.apiKey == rhs.apiKey)
    }

    var viewer: Viewer {
        Viewer(userId: user?.id, isAdmin: user?.isAdmin ?? true)
    }

    var isAdmin: Bool { viewer.isAdmin }
    var userId: Int64? { user?.id }
    var username: String? { user?.username }
    var dailyMessageLimit: Int? { user?.dailyMessageLimit }

    func requireAdmin(_ action: String) throws {
        guard isAdmin else { throw APIError.forbidden("Only administrators may \(action).") }
    }
}
