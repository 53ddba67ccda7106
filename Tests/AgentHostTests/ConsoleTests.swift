import ChatBridge
import Foundation
import Hummingbird
import HummingbirdTesting
import Testing

@testable import AgentHost

/// The web console's static route (PROTOCOL §11): served from its directory at `/` with a CSP that
/// allows only the own origin, the right types and caching, nothing outside the directory, and off
/// when turned off.
@Suite("Web console files")
struct ConsoleTests {
    /// A console directory with a file beside it that must never be served.
    struct Fixture {
        let root: URL
        var directory: URL { root.appendingPathComponent("console", isDirectory: true) }

        init() throws {
            root = FileManager.default.temporaryDirectory.appendingPathComponent("agenthost-console-\(UUID())", isDirectory: true)
            let js = root.appendingPathComponent("console/js", isDirectory: true)
            try FileManager.default.createDirectory(at: js, withIntermediateDirectories: true)
            try "<!doctype html><title>console-index</title>".write(to: root.appendingPathComponent("console/index.html"), atomically: true, encoding: .utf8)
            try "export const x = 1;".write(to: js.appendingPathComponent("main.js"), atomically: true, encoding: .utf8)
            try "body{}".write(to: root.appendingPathComponent("console/console.css"), atomically: true, encoding: .utf8)
            try "hidden".write(to: root.appendingPathComponent("console/.env"), atomically: true, encoding: .utf8)
            try "TOP-SECRET".write(to: root.appendingPathComponent("secret.txt"), atomically: true, encoding: .utf8)
        }
    }

    @Test func indexIsServedWithTheSecurityHeaders() async throws {
        let fixture = try Fixture()
        let harness = try await TestHarness { $0.console.directory = fixture.directory.path }
        try await harness.test { client in
            let index = try await client.send(.get, "/")
            #expect(index.status == .ok)
            #expect(index.text.contains("console-index"))
            #expect(index.headers[.contentType] == "text/html; charset=utf-8")
            let policy = try #require(index.headers[.contentSecurityPolicy])
            #expect(policy == ConsoleMiddleware.contentSecurityPolicy)
            #expect(policy.contains("script-src 'self';") && policy.contains("style-src 'self';") && !policy.contains("unsafe"))
            #expect(policy.contains("frame-ancestors 'none'"))
            #expect(index.headers[.xContentTypeOptions] == "nosniff")
            #expect(index.headers[.cacheControl] == "no-cache")
            let etag = try #require(index.headers[.eTag])

            // Revalidation: the same ETag gets a 304 without the body.
            let again = try await client.execute(uri: "/", method: .get, headers: [.ifNoneMatch: etag])
            #expect(again.status == .notModified)

            let script = try await client.send(.get, "/js/main.js")
            #expect(script.status == .ok)
            #expect(script.headers[.contentType] == "text/javascript; charset=utf-8")
            #expect(script.headers[.contentSecurityPolicy] != nil)
            let style = try await client.send(.get, "/console.css")
            #expect(style.headers[.contentType] == "text/css; charset=utf-8")
        }
    }

    @Test(arguments: ["/../secret.txt", "/%2e%2e/secret.txt", "/js/..%2f..%2fsecret.txt", "/js/%2E%2E/%2E%2E/secret.txt",
                      "/.env", "/js/..\\..\\secret.txt", "/nothing-here.js"])
    func pathsOutsideTheDirectoryAreNotFound(_ path: String) async throws {
        let fixture = try Fixture()
        let harness = try await TestHarness { $0.console.directory = fixture.directory.path }
        try await harness.test { client in
            let response = try await client.send(.get, path)
            #expect(response.status == .notFound)
            #expect(!response.text.contains("TOP-SECRET"))
            #expect(!response.text.contains("hidden"))
        }
    }

    @Test func theAPIIsNotShadowedByTheConsole() async throws {
        let fixture = try Fixture()
        // A file where an API route is must not be served instead of the route, nor for a missing route.
        let api = fixture.directory.appendingPathComponent("api", isDirectory: true)
        try FileManager.default.createDirectory(at: api, withIntermediateDirectories: true)
        try "shadow".write(to: api.appendingPathComponent("health"), atomically: true, encoding: .utf8)
        try "shadow".write(to: api.appendingPathComponent("missing"), atomically: true, encoding: .utf8)
        let harness = try await TestHarness { $0.console.directory = fixture.directory.path }
        try await harness.test { client in
            let health = try await client.send(.get, "/api/health")
            #expect(try health.json["status"] == "ok")
            #expect(health.headers[.contentSecurityPolicy] == nil)
            let missing = try await client.send(.get, "/api/missing")
            #expect(missing.status == .notFound)
            #expect(!missing.text.contains("shadow"))
        }
    }

    /// The console is behind the same browser boundary as the API: in single-user mode a page under
    /// a rebound DNS name cannot load it (and so cannot read the token-less API through it).
    @Test func aForeignHostCannotLoadTheConsoleInSingleUserMode() async throws {
        let fixture = try Fixture()
        let harness = try await TestHarness { $0.console.directory = fixture.directory.path }
        try await harness.testLive { client in
            let port = try #require(client.port)
            // A generous hang bound: the machine running the suite may be busy.
            let foreign = try await RawConnection.exchange(port: port, RawConnection.request("GET", "/", host: "evil.example:\(port)"),
                                                           timeout: .seconds(30))
            #expect(foreign.status == 403)
            let local = try await RawConnection.exchange(port: port, RawConnection.request("GET", "/", host: "localhost:\(port)"),
                                                         timeout: .seconds(30))
            #expect(local.status == 200)
        }
    }

    @Test func aDisabledConsoleIsNotServed() async throws {
        let fixture = try Fixture()
        let harness = try await TestHarness {
            $0.console.directory = fixture.directory.path
            $0.console.enabled = false
        }
        try await harness.test { client in
            let index = try await client.send(.get, "/")
            let script = try await client.send(.get, "/js/main.js")
            let health = try await client.send(.get, "/api/health")
            #expect(index.status == .notFound)
            #expect(script.status == .notFound)
            #expect(health.status == .ok)
        }
    }

    @Test func aMissingDirectoryLeavesTheAPIWorking() async throws {
        let harness = try await TestHarness { $0.console.directory = "/nonexistent/agenthost-console-\(UUID())" }
        try await harness.test { client in
            let index = try await client.send(.get, "/")
            let health = try await client.send(.get, "/api/health")
            #expect(index.status == .notFound)
            #expect(health.status == .ok)
        }
    }

    @Test func flagsAndEnvironmentResolve() throws {
        let defaults = try ServeCommand.parse([]).makeConfiguration()
        #expect(defaults.console.enabled)
        #expect(defaults.console.directory == nil)
        let configured = try ServeCommand.parse(["--no-console", "--console-dir", "/srv/console"]).makeConfiguration()
        #expect(!configured.console.enabled)
        #expect(configured.console.directory == "/srv/console")
    }

    @Test func theDirectoryIsFoundFromTheExecutable() throws {
        let fixture = try Fixture()
        try "// swift-tools-version:6.1".write(to: fixture.root.appendingPathComponent("Package.swift"), atomically: true, encoding: .utf8)
        let found = ConsoleDirectory.locate(explicit: nil, currentDirectory: URL(fileURLWithPath: "/"),
                                            executablePath: fixture.root.appendingPathComponent(".build/debug/agenthost").path)
        #expect(found?.standardizedFileURL.path == fixture.directory.standardizedFileURL.path)
        #expect(ConsoleDirectory.locate(explicit: "rel", currentDirectory: URL(fileURLWithPath: "/srv"), executablePath: nil)?.path == "/srv/rel")
    }

    /// The repository's own console: every module the page loads is served as JavaScript, and the
    /// page has no inline script or style the CSP would block.
    @Test func theRepositoryConsoleLoadsUnderItsPolicy() async throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let directory = root.appendingPathComponent("console")
        let harness = try await TestHarness { $0.console.directory = directory.path }
        let modules = try FileManager.default.contentsOfDirectory(atPath: directory.appendingPathComponent("js").path).filter { $0.hasSuffix(".js") }
        #expect(modules.contains("main.js"))
        try await harness.test { client in
            let index = try await client.send(.get, "/")
            #expect(index.text.contains("<script type=\"module\" src=\"/js/main.js\"></script>"))
            #expect(!index.text.contains("style=\""))
            #expect(index.text.components(separatedBy: "<script").count == 2)
            for module in modules {
                let response = try await client.send(.get, "/js/\(module)")
                #expect(response.status == .ok, "\(module)")
                #expect(response.headers[.contentType] == "text/javascript; charset=utf-8")
                for parser in [".innerHTML =", ".outerHTML =", "insertAdjacentHTML", "document.write"] {
                    #expect(!response.text.contains(parser), "\(module) must build DOM nodes, not parse HTML (\(parser))")
                }
            }
        }
    }
}
