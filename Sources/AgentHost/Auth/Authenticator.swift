import ChatBridge
import Foundation
import JWTKit

/// Turns a bearer credential (JWT or API key) into a ``Principal``, following PROTOCOL §2.
struct Authenticator: Sendable {
    let accounts: any AccountStore
    let keys: JWTKeyCollection
    let tokenLifetime: TimeInterval
    /// Where password hashes are computed: never on the cooperative pool.
    let passwords: PasswordHashingPool

    /// The claims of a session token.
    struct SessionClaims: JWTPayload {
        var sub: SubjectClaim
        var exp: ExpirationClaim
        var iat: IssuedAtClaim

        func verify(using algorithm: some JWTAlgorithm) async throws {
            try exp.verifyNotExpired()
        }
    }

    static func make(
        accounts: any AccountStore, secret: String, tokenLifetime: TimeInterval,
        passwords: PasswordHashingPool = PasswordHashingPool(threads: 1)
    ) async -> Authenticator {
        let keys = JWTKeyCollection()
        await keys.add(hmac: HMACKey(from: secret), digestAlgorithm: .sha256)
        return Authenticator(accounts: accounts, keys: keys, tokenLifetime: tokenLifetime, passwords: passwords)
    }

    /// Who is calling, given the `Authorization` header value or a `?token=` query item.
    ///
    /// In single-user mode (no user exists) a credential that does not check out is ignored rather
    /// than refused: OpenAI SDKs insist on sending a placeholder key. A valid API key still counts,
    /// so its chats record their `api_session_id`.
    func authenticate(bearer credential: String?) async throws -> Principal {
        guard let credential, !credential.isEmpty else {
            if try await accounts.hasUsers() {
                throw APIError(.unauthorized, "Authentication required: send 'Authorization: Bearer <token or API key>'.")
            }
            return .singleUser
        }
        do {
            if APIKeySecret.looksLikeKey(credential) {
                return try await principal(forAPIKey: credential)
            }
            return try await principal(forJWT: credential)
        } catch let error as APIError where error.code == .unauthorized {
            // Asked only when the credential failed, so valid credentials cost no extra query.
            if try await accounts.hasUsers() { throw error }
            return .singleUser
        }
    }

    /// Checks a username and password and issues a session token.
    func login(username: String, password: String, hasher: PasswordHasher = .standard) async throws -> (token: String, user: User) {
        let user = try await accounts.user(username: username)
        // Hash even for an unknown user so response time does not reveal which usernames exist.
        let storedHash = user?.passwordHash
        let matches = try await passwords.run {
            // The decoy is first computed here too, on the pool.
            hasher.verify(password, against: storedHash ?? Self.decoyHash)
        }
        guard matches, let user else {
            throw APIError(.unauthorized, "Wrong username or password.")
        }
        guard !user.suspended else { throw APIError.forbidden("This account is suspended.") }
        return (try await issueToken(for: user), user)
    }

    func issueToken(for user: User, now: Date = Date()) async throws -> String {
        let claims = SessionClaims(
            sub: .init(value: String(user.id ?? 0)),
            exp: .init(value: now.addingTimeInterval(tokenLifetime)),
            iat: .init(value: now)
        )
        return try await keys.sign(claims)
    }

    private func principal(forAPIKey secret: String) async throws -> Principal {
        guard let key = try await accounts.activeAPIKey(secretHash: APIKeySecret.hash(secret), now: Date()) else {
            throw APIError(.unauthorized, "The API key is not valid or has been revoked.")
        }
        guard let userId = key.userId else { return Principal(user: nil, apiKey: key) }
        let user = try await activeUser(id: userId)
        return Principal(user: user, apiKey: key)
    }

    private func principal(forJWT token: String) async throws -> Principal {
        let claims: SessionClaims
        do {
            claims = try await keys.verify(token, as: SessionClaims.self)
        } catch let error as JWTError where error.errorType == .claimVerificationFailure {
            throw APIError(.unauthorized, "The token has expired; sign in again.")
        } catch {
            // Forged, malformed, `alg: none` or signed with another key: all the same to the caller.
            throw APIError(.unauthorized, "The token is not valid.")
        }
        guard let userId = Int64(claims.sub.value) else {
            throw APIError(.unauthorized, "The token is not valid.")
        }
        return Principal(user: try await activeUser(id: userId), apiKey: nil)
    }

    private func activeUser(id: Int64) async throws -> User {
        guard let user = try await accounts.user(id: id) else {
            throw APIError(.unauthorized, "The account of this credential no longer exists.")
        }
        guard !user.suspended else { throw APIError.forbidden("This account is suspended.") }
        return user
    }

    /// A valid hash of a random password, verified against when the username is unknown.
    private static let decoyHash: String = (try? PasswordHasher.standard.hash(UUID.random().uuidString)) ?? ""
}
