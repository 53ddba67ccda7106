import ChatBridge

/// The authenticated caller of a request or WebSocket.
struct Principal: Sendable, Equatable {
    /// The signed-in user; `nil` in single-user mode and for administrator API keys.
    var user: User?
    /// The API key the request came with, if any.
    var apiKey: APIKey?

    static let singleUser = Principal(user: nil, apiKey: nil)

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
