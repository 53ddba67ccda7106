import ChatBridge
import Foundation
import Hummingbird
import HummingbirdTesting
import Testing

@testable import AgentHost

@Suite("Auth (PROTOCOL §2)")
struct AuthTests {
    @Test func singleUserModeNeedsNoCredentials() async throws {
        let harness = try await TestHarness()
        try await harness.test { client in
            let response = try await client.send(.get, "/api/workspaces")
            #expect(response.status == .ok)
        }
    }

    @Test func multiUserModeRequiresAToken() async throws {
        let harness = try await TestHarness()
        try await harness.addUser("alice")
        try await harness.test { client in
            let response = try await client.send(.get, "/api/workspaces")
            #expect(response.status == .unauthorized)
            #expect(response.errorCode == "unauthorized")
            #expect(response.headers[.wwwAuthenticate] == "Bearer")
        }
    }

    @Test func loginIssuesAWorkingToken() async throws {
        let harness = try await TestHarness()
        try await harness.store.createUser(User(
            username: "alice", passwordHash: try PasswordHasher.standard.hash("correct horse"), role: .admin))
        try await harness.test { client in
            let login = try await client.send(.post, "/api/auth/login", json: #"{"username":"alice","password":"correct horse"}"#)
            #expect(login.status == .ok)
            let body = try login.json
            #expect(body["user"]?["username"] == "alice")
            #expect(body["user"]?["password_hash"] == nil)
            let token = try #require(body["token"]?.stringValue)
            let response = try await client.send(.get, "/api/workspaces/", headers: [.authorization: "Bearer \(token)"])
            #expect(response.status == .ok)

            let wrong = try await client.send(.post, "/api/auth/login", json: #"{"username":"alice","password":"nope"}"#)
            #expect(wrong.status == .unauthorized)
            let unknown = try await client.send(.post, "/api/auth/login", json: #"{"username":"bob","password":"nope"}"#)
            #expect(unknown.status == .unauthorized)
            let missing = try await client.send(.post, "/api/auth/login", json: #"{"username":"alice"}"#)
            #expect(missing.status == .badRequest)
            #expect(missing.errorCode == "validation_failed")
        }
    }

    @Test func badTokensAreRefused() async throws {
        let harness = try await TestHarness()
        let alice = try await harness.addUser("alice")
        let expired = try await harness.token(for: alice, issuedAt: Date().addingTimeInterval(-30 * 86_400))
        let forger = await Authenticator.make(
            accounts: harness.dependencies.accounts, secret: String(repeating: "x", count: 40), tokenLifetime: 3600)
        let forged = try await forger.issueToken(for: alice)
        // Same claims, signature stripped, header claiming no algorithm.
        let payload = try #require(try await harness.token(for: alice).split(separator: ".").dropFirst().first)
        let algNone = Base64URL.encode(Array(#"{"alg":"none","typ":"JWT"}"#.utf8)) + "." + payload + "."
        try await harness.test { client in
            for token in [expired, forged, algNone, "garbage", "a.b.c"] {
                let response = try await client.send(.get, "/api/chats", headers: [.authorization: "Bearer \(token)"])
                #expect(response.status == .unauthorized, "token \(token.prefix(20)) was accepted")
                #expect(response.errorCode == "unauthorized")
            }
            let expiredResponse = try await client.send(.get, "/api/chats", headers: [.authorization: "Bearer \(expired)"])
            #expect(try expiredResponse.json["error"]?["message"]?.stringValue?.contains("expired") == true)
        }
    }

    /// PROTOCOL §2 (issue 11): single-user mode ignores a credential that does not check out, so
    /// SDKs with a placeholder key work; with users, the same credential is refused.
    @Test func badTokenIsIgnoredInSingleUserModeAndRefusedWithUsers() async throws {
        let harness = try await TestHarness()
        try await harness.test { client in
            let ignored = try await client.send(.get, "/api/chats", headers: [.authorization: "Bearer nonsense"])
            #expect(ignored.status == .ok)
            try await harness.addUser("alice")
            let refused = try await client.send(.get, "/api/chats", headers: [.authorization: "Bearer nonsense"])
            #expect(refused.status == .unauthorized)
        }
    }

    @Test func apiKeysWorkUntilRevoked() async throws {
        let harness = try await TestHarness()
        let alice = try await harness.addUser("alice")
        let key = try await harness.addAPIKey(owner: alice)
        try await harness.test { client in
            let ok = try await client.send(.get, "/api/chats", headers: [.authorization: "Bearer \(key)"])
            #expect(ok.status == .ok)
            let keys = try await harness.store.apiKeys()
            #expect(keys.first?.secretHash != key, "the secret itself must never be stored")
            #expect(try await harness.store.revokeAPIKey(id: keys[0].id!, now: Date()))
            let revoked = try await client.send(.get, "/api/chats", headers: [.authorization: "Bearer \(key)"])
            #expect(revoked.status == .unauthorized)
            let unknown = try await client.send(.get, "/api/chats", headers: [.authorization: "Bearer ahk_notakey"])
            #expect(unknown.status == .unauthorized)
        }
    }

    @Test func suspendedUsersAreRefused() async throws {
        let harness = try await TestHarness()
        var alice = try await harness.addUser("alice")
        let headers = try await harness.headers(for: alice)
        let key = try await harness.addAPIKey(owner: alice)
        alice.suspended = true
        _ = try await harness.store.updateUser(alice)
        try await harness.test { client in
            let withToken = try await client.send(.get, "/api/chats", headers: headers)
            #expect(withToken.status == .forbidden)
            let withKey = try await client.send(.get, "/api/chats", headers: [.authorization: "Bearer \(key)"])
            #expect(withKey.status == .forbidden)
        }
    }

    @Test func adminOnlyActionsAreForbiddenToDefaultUsers() async throws {
        let harness = try await TestHarness()
        let bob = try await harness.addUser("bob")
        try await harness.test { client in
            let response = try await client.send(.post, "/api/workspaces", headers: try await harness.headers(for: bob), json: #"{"name":"X"}"#)
            #expect(response.status == .forbidden)
            #expect(response.errorCode == "forbidden")
        }
    }
}

@Suite("Configuration")
struct ConfigurationTests {
    @Test func loopbackGuardRefusesUnauthenticatedExposure() throws {
        var configuration = Configuration()
        configuration.host = "0.0.0.0"
        #expect(throws: ConfigurationError.self) { try configuration.checkExposure(hasUsers: false) }
        try configuration.checkExposure(hasUsers: true)
        configuration.allowUnauthenticated = true
        try configuration.checkExposure(hasUsers: false)
        for host in ["127.0.0.1", "localhost", "::1", "127.0.0.2"] {
            var loopback = Configuration()
            loopback.host = host
            try loopback.checkExposure(hasUsers: false)
        }
    }

    @Test func jwtSecretIsGeneratedOnceWithOwnerOnlyPermissions() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("agenthost-\(UUID())")
        defer { try? FileManager.default.removeItem(at: directory) }
        var configuration = Configuration()
        configuration.dataDirectory = directory
        let first = try configuration.resolvedJWTSecret()
        let second = try configuration.resolvedJWTSecret()
        #expect(first == second)
        #expect(first.utf8.count >= 32)
        let attributes = try FileManager.default.attributesOfItem(atPath: directory.appendingPathComponent("jwt-secret").path)
        #expect((attributes[.posixPermissions] as? NSNumber)?.intValue == 0o600)
        configuration.jwtSecret = "short"
        #expect(throws: ConfigurationError.self) { try configuration.resolvedJWTSecret() }
    }

    /// A secret that cannot be kept would sign everyone out at the next restart: the server refuses
    /// to start instead of running on a secret it forgets.
    @Test func aJWTSecretThatCannotBeWrittenStopsTheStart() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("agenthost-\(UUID())")
        defer { try? FileManager.default.removeItem(at: directory) }
        // A directory where the secret's file should go: it can be neither read nor created.
        try FileManager.default.createDirectory(at: directory.appendingPathComponent("jwt-secret"), withIntermediateDirectories: true)
        var configuration = Configuration()
        configuration.dataDirectory = directory
        let error = try #require(throws: ConfigurationError.self) { try configuration.resolvedJWTSecret() }
        #expect("\(error)".contains("Could not write the JWT secret"))
    }

    @Test func serveFlagsOverrideDefaults() throws {
        let command = try ServeCommand.parse(["--host", "0.0.0.0", "--port", "9999", "--max-body-size", "2048", "--log-level", "debug"])
        let configuration = try command.makeConfiguration()
        #expect(configuration.host == "0.0.0.0")
        #expect(configuration.port == 9999)
        #expect(configuration.maxBodySize == 2048)
        #expect(configuration.logLevel == .debug)
        #expect(throws: (any Error).self) { try ServeCommand.parse(["--port", "70000"]).makeConfiguration() }
    }
}
