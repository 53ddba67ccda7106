import ChatBridge
import Synchronization

/// Counts failed logins per username and per client address over a sliding window (PROTOCOL §2).
///
/// An attempt is counted when it is admitted, before the password is checked, so a burst of
/// concurrent guesses is cut off at the limit instead of all passing the check at once; a
/// successful login takes its attempt back. With instances sharing a database (PROTOCOL §9) the
/// failures are also counted there (``shared``), so the limits hold across instances: an attempt
/// is refused when either count is at its limit.
final class LoginThrottle: Sendable {
    struct Limits: Sendable {
        var perUser: Int
        var perAddress: Int
        var window: Duration
    }

    /// An admitted attempt, handed back on success.
    struct Attempt: Sendable {
        fileprivate let keys: [Key]
        fileprivate let at: ContinuousClock.Instant
    }

    fileprivate enum Key: Hashable {
        case user(String)
        case address(String)

        /// The key's name in the shared count.
        var sharedName: String {
            switch self {
            case .user(let name): "user:\(name)"
            case .address(let address): "address:\(address)"
            }
        }
    }

    let limits: Limits
    /// Keys tracked at most; beyond it the stalest are dropped, so a flood of made-up usernames
    /// cannot grow memory without bound.
    let maxTrackedKeys: Int
    private let attempts = Mutex<[Key: [ContinuousClock.Instant]]>([:])
    /// Failures every instance counts; `nil` for one process.
    let shared: (any LoginFailureStore)?

    init(limits: Limits, maxTrackedKeys: Int = 50_000, shared: (any LoginFailureStore)? = nil) {
        self.limits = limits
        self.maxTrackedKeys = maxTrackedKeys
        self.shared = shared
    }

    convenience init(settings: SecuritySettings, shared: (any LoginFailureStore)? = nil) {
        self.init(limits: Limits(perUser: settings.loginFailuresPerUser, perAddress: settings.loginFailuresPerAddress,
                                 window: settings.loginFailureWindow),
                  shared: shared)
    }

    /// Admits an attempt against this process's count and, with instances sharing a database, the
    /// count of them all.
    func admit(username: String, address: String) async throws -> Attempt {
        let attempt = try admit(username: username, address: address, now: .now)
        guard let shared else { return attempt }
        for (key, limit) in [(attempt.keys[0], limits.perUser), (attempt.keys[1], limits.perAddress)]
        where try await shared.loginFailures(key: key.sharedName, window: limits.window) >= limit {
            succeeded(attempt)
            let seconds = max(Int(limits.window.components.seconds), 1)
            throw APIError(.rateLimited, "Too many failed logins; try again in \(seconds) s.", details: ["retry_after": .int(seconds)])
        }
        return attempt
    }

    /// The password was wrong: with a shared count, every instance now counts it.
    func failed(_ attempt: Attempt) async {
        guard let shared else { return }
        for key in attempt.keys { _ = try? await shared.recordLoginFailure(key: key.sharedName, window: limits.window) }
    }

    /// Admits an attempt, or throws `429 rate_limited` with `retry_after` seconds when the username
    /// or the address has used up its failures in the window.
    func admit(username: String, address: String, now: ContinuousClock.Instant = .now) throws -> Attempt {
        let keys: [(Key, Int)] = [(.user(username.lowercased()), limits.perUser), (.address(address), limits.perAddress)]
        let window = limits.window
        return try attempts.withLock { attempts in
            var wait: Duration = .zero
            for (key, limit) in keys {
                let recent = (attempts[key] ?? []).filter { now - $0 < window }
                attempts[key] = recent.isEmpty ? nil : recent
                if recent.count >= limit, let oldest = recent.first {
                    wait = max(wait, oldest + window - now)
                }
            }
            if wait > .zero {
                let seconds = Int(wait.components.seconds) + (wait.components.attoseconds > 0 ? 1 : 0)
                throw APIError(.rateLimited, "Too many failed logins; try again in \(max(seconds, 1)) s.",
                               details: ["retry_after": .int(max(seconds, 1))])
            }
            if attempts.count + keys.count > maxTrackedKeys {
                Self.dropStalest(&attempts, keeping: maxTrackedKeys / 2, now: now, window: window)
            }
            for (key, _) in keys { attempts[key, default: []].append(now) }
            return Attempt(keys: keys.map(\.0), at: now)
        }
    }

    /// The attempt succeeded: it no longer counts as a failure.
    func succeeded(_ attempt: Attempt) {
        attempts.withLock { attempts in
            for key in attempt.keys {
                guard var list = attempts[key], let index = list.firstIndex(of: attempt.at) else { continue }
                list.remove(at: index)
                attempts[key] = list.isEmpty ? nil : list
            }
        }
    }

    private static func dropStalest(
        _ attempts: inout [Key: [ContinuousClock.Instant]], keeping count: Int, now: ContinuousClock.Instant, window: Duration
    ) {
        attempts = attempts.filter { _, list in list.last.map { now - $0 < window } ?? false }
        guard attempts.count > count else { return }
        let newest = attempts.sorted { ($0.value.last ?? now) > ($1.value.last ?? now) }.prefix(count)
        attempts = Dictionary(uniqueKeysWithValues: newest.map { ($0.key, $0.value) })
    }
}
