import ChatBridge
import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import Synchronization
import Testing

@testable import AgentHost

/// PROTOCOL §2 credentials under abuse: placeholder keys, login floods, unknown API keys.
@Suite("Auth hardening (PROTOCOL §2)")
struct AuthHardeningTests {
    @Test func singleUserModeIgnoresAuthorization() async throws {
        let harness = try await TestHarness()
        try await harness.testLive { client in
            // What OpenAI SDKs send when told "any key will do", a stray JWT, and a key-shaped guess.
            for credential in ["Bearer sk-placeholder", "Bearer not.a.jwt", "Bearer \(APIKeySecret.generate())", "Basic Zm9vOmJhcg=="] {
                let response = try await client.send(.get, "/api/workspaces", headers: [.authorization: credential])
                #expect(response.status == .ok, "\(credential)")
            }
            try await harness.addUser("alice")
            let refused = try await client.send(.get, "/api/workspaces", headers: [.authorization: "Bearer sk-placeholder"])
            #expect(refused.status == .unauthorized)
        }
    }

    @Test func failedLoginsAreThrottledAndHealthStaysResponsive() async throws {
        // Limits below the defaults keep the real-cost hashing short: the full suite runs in parallel
        // on 2 shared cores, and timing-sensitive tests elsewhere must not starve.
        let harness = try await TestHarness { configuration in
            configuration.security.loginFailuresPerUser = 2
            configuration.security.loginFailuresPerAddress = 4
        }
        // Unknown usernames are checked against the decoy hash, at the production cost (scrypt N = 2^15).
        try await harness.addUser("alice", password: "right password")
        try await harness.testLive { client in
            let port = try #require(client.port)
            // Successful logins take their attempt back: more than the limit in a row all succeed.
            for _ in 0..<3 {
                let login = try await client.send(.post, "/api/auth/login", json: #"{"username": "alice", "password": "right password"}"#)
                #expect(login.status == .ok)
            }
            func login(_ username: String) async throws -> RawConnection.Response {
                try await RawConnection.exchange(port: port, RawConnection.request(
                    "POST", "/api/auth/login", host: "localhost", headers: [("Content-Type", "application/json")],
                    body: #"{"username": "\#(username)", "password": "wrong"}"#), timeout: .seconds(60))
            }
            let (outcomes, healthTimes) = try await withThrowingTaskGroup(of: ([(String, RawConnection.Response)], [Duration]).self) { group in
                for index in 0..<60 {
                    let username = index.isMultiple(of: 2) ? "alice" : "nobody\(index)"
                    group.addTask { ([(username, try await login(username))], []) }
                }
                group.addTask {
                    var times: [Duration] = []
                    for _ in 0..<10 {
                        let start = ContinuousClock.now
                        let health = try await RawConnection.exchange(port: port, RawConnection.request("GET", "/api/health", host: "localhost"))
                        times.append(start.duration(to: .now))
                        #expect(health.status == 200)
                        try await Task.sleep(for: .milliseconds(30))
                    }
                    return ([], times)
                }
                var outcomes: [(String, RawConnection.Response)] = []
                var times: [Duration] = []
                for try await (results, probes) in group {
                    outcomes += results
                    times += probes
                }
                return (outcomes, times)
            }
            let throttled = outcomes.filter { $0.1.status == 429 }
            let checked = outcomes.filter { $0.1.status == 401 }
            #expect(throttled.count + checked.count == 60)
            // 2 failures per username, 4 per address; the rest never reach scrypt.
            #expect(checked.filter { $0.0 == "alice" }.count <= 2)
            #expect(checked.count <= 4)
            #expect(throttled.count >= 56)
            for (_, response) in throttled {
                #expect(response.errorCode == "rate_limited")
                let retryAfter = try #require(response.headers["retry-after"].flatMap(Int.init))
                #expect((1...60).contains(retryAfter))
            }
            // Health answered every probe during the flood; how fast depends on the machine's load, so
            // the property behind it (hashing never occupies the cooperative pool) is tested exactly in
            // passwordHashingLeavesTheCooperativePoolFree.
            #expect(healthTimes.count == 10)
        }
    }

    /// Scrypt blocks its thread for tens of milliseconds (seconds in a debug build). Jobs that block
    /// more threads than the cooperative pool has must still leave async work running: were they on
    /// the cooperative pool, nothing else could run until they gave up, and they would time out.
    @Test func passwordHashingLeavesTheCooperativePoolFree() async throws {
        let width = ProcessInfo.processInfo.activeProcessorCount
        let jobs = width + 2
        let pool = PasswordHashingPool(threads: jobs)
        let gate = DispatchSemaphore(value: 0)
        final class Counts: Sendable {
            let started = Mutex(0)
            let gaveUp = Mutex(0)
        }
        let counts = Counts()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<jobs {
                group.addTask {
                    try await pool.run {
                        counts.started.withLock { $0 += 1 }
                        // Gives up after 10 s, so a regression fails the test instead of hanging it.
                        if gate.wait(timeout: .now() + 10) == .timedOut { counts.gaveUp.withLock { $0 += 1 } }
                    }
                }
            }
            for _ in 0..<2000 where counts.started.withLock({ $0 }) < jobs { try await Task.sleep(for: .milliseconds(5)) }
            #expect(counts.started.withLock { $0 } == jobs, "every job holds a thread of its own")
            // Async work on the cooperative pool, while every job still blocks its thread.
            let sum = await withTaskGroup(of: Int.self) { probes in
                for index in 0..<(4 * width) { probes.addTask { await Task.yield(); return index } }
                return await probes.reduce(0, +)
            }
            #expect(sum == (0..<(4 * width)).reduce(0, +))
            #expect(counts.gaveUp.withLock { $0 } == 0, "the probes ran while the jobs were blocked")
            for _ in 0..<jobs { gate.signal() }
            try await group.waitForAll()
        }
        #expect(counts.gaveUp.withLock { $0 } == 0)
    }

    @Test func unknownAPIKeyDoesNotWaitForTheWriteLock() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("browser-apikey-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let pool = try AppDatabase.openPool(directory: directory, logger: Logger(label: "test"))
        let store = SQLiteStore(writer: pool)
        try await store.createUser(User(username: "alice", passwordHash: "x", role: .admin))
        var configuration = Configuration()
        configuration.jwtSecret = TestHarness.secret
        configuration.port = 0
        let dependencies = Dependencies(database: pool, httpClient: TestHarness.httpClient, tools: try TestHarness.tools())
        var logger = Logger(label: "test")
        logger.logLevel = .warning
        let app = try await buildApplication(configuration: configuration, dependencies: dependencies, logger: logger)
        try await app.test(.live) { client in
            // Another writer holds the single write lock until the answer is in (at most 30 s).
            let locked = AsyncStream<Void>.makeStream()
            let answered = DispatchSemaphore(value: 0)
            let released = Mutex(false)
            async let held: Void = pool.write { _ in
                locked.continuation.yield()
                _ = answered.wait(timeout: .now() + 30)
                released.withLock { $0 = true }
            }
            var iterator = locked.stream.makeAsyncIterator()
            await iterator.next()
            let response = try await client.send(.get, "/api/workspaces", headers: [.authorization: "Bearer \(APIKeySecret.generate())"])
            #expect(response.status == .unauthorized)
            #expect(released.withLock { $0 } == false, "the unknown key was answered only after the write lock was released")
            answered.signal()
            try await held
        }
    }
}
