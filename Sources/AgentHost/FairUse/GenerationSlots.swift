import ChatBridge
import Synchronization

/// Fair use: how many chat generations one user, and one WebSocket, may have in flight at once.
package struct FairUseSettings: Sendable, Equatable {
    /// Per user (or API key without a user; single-user mode counts as one user), over every transport.
    package var maxGenerationsPerUser = 8
    /// Per `ws/chat` connection, which could otherwise start any number with a burst of frames.
    var maxGenerationsPerSocket = 4
    /// The `Retry-After` of a refusal: generations end within seconds to minutes, so a short wait.
    var retryAfterSeconds = 1
}

/// The one mechanism that caps concurrent chat generations for `ws/chat`, SSE
/// (`/api/chats/stream_chat/`) and `/v1/chat/completions`, as ``InvocationRegistry`` caps agent runs.
///
/// A generation takes a ``GenerationSlot`` before anything is stored and gives it back when its
/// stream ends; beyond a cap the request is refused with `rate_limited` (HTTP 429 with `Retry-After`
/// before the stream, an `error` frame on a socket, which stays open).
final class GenerationSlots: Sendable {
    let settings: FairUseSettings
    private let inFlight = Mutex<[Owner: Int]>([:])

    /// Whose generations count together.
    enum Owner: Hashable, Sendable {
        case user(Int64)
        case apiKey(Int64)
        /// Single-user mode (nobody signed in).
        case local
        case socket(String)
    }

    init(settings: FairUseSettings) {
        self.settings = settings
    }

    /// Takes a slot for a generation of `principal` (on WebSocket connection `socket`, if any), or
    /// throws `rate_limited` when a cap is reached.
    func acquire(for principal: Principal, socket: String? = nil) throws -> GenerationSlot {
        let user: Owner = principal.userId.map(Owner.user) ?? principal.apiKey?.id.map(Owner.apiKey) ?? .local
        let owners = [user] + (socket.map { [Owner.socket($0)] } ?? [])
        try inFlight.withLock { counts in
            let used = counts[user, default: 0]
            if used >= settings.maxGenerationsPerUser {
                throw refusal(used: used, limit: settings.maxGenerationsPerUser, scope: "for your account")
            }
            if let socket {
                let onSocket = counts[.socket(socket), default: 0]
                if onSocket >= settings.maxGenerationsPerSocket {
                    throw refusal(used: onSocket, limit: settings.maxGenerationsPerSocket, scope: "on this connection")
                }
            }
            for owner in owners { counts[owner, default: 0] += 1 }
        }
        return GenerationSlot(slots: self, owners: owners)
    }

    /// Generations in flight for `owner`.
    func count(_ owner: Owner) -> Int {
        inFlight.withLock { $0[owner, default: 0] }
    }

    fileprivate func release(_ owners: [Owner]) {
        inFlight.withLock { counts in
            for owner in owners {
                let left = counts[owner, default: 1] - 1
                counts[owner] = left > 0 ? left : nil
            }
        }
    }

    private func refusal(used: Int, limit: Int, scope: String) -> APIError {
        APIError(.rateLimited, "\(used) chat generations are already in progress \(scope); the limit is \(limit). "
                     + "Wait for one to finish (or cancel it) and retry.",
                 details: ["limit": .int(limit), "used": .int(used), "retry_after": .int(settings.retryAfterSeconds)])
    }
}

/// A taken generation slot; given back by ``release()`` or, as a safety net, when it is dropped
/// (a response whose body never ran still frees its slot).
final class GenerationSlot: Sendable {
    private let slots: GenerationSlots
    private let owners: Mutex<[GenerationSlots.Owner]?>

    fileprivate init(slots: GenerationSlots, owners: [GenerationSlots.Owner]) {
        self.slots = slots
        self.owners = Mutex(owners)
    }

    /// Gives the slot back; later calls do nothing.
    func release() {
        if let owners = owners.withLock({ $0.take() }) { slots.release(owners) }
    }

    deinit {
        release()
    }
}
