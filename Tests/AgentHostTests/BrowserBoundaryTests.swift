import ChatBridge
import Foundation
import Hummingbird
import HummingbirdTesting
import NIOCore
import Testing

@testable import AgentHost

/// PROTOCOL §2 browser rules: Origin, Host and JSON bodies, against a real server on a real socket.
@Suite("Browser boundary (PROTOCOL §2)")
struct BrowserBoundaryTests {
    @Test func foreignOriginIsRefusedAndOnlyAllowedOriginsGetCORS() async throws {
        let harness = try await TestHarness { $0.security.allowedOrigins = ["http://app.example:3000"] }
        try await harness.testLive { client in
            let port = try #require(client.port)
            let host = "127.0.0.1:\(port)"
            func post(_ name: String, _ headers: [(String, String)]) async throws -> RawConnection.Response {
                try await RawConnection.exchange(port: port, RawConnection.request(
                    "POST", "/api/workspaces", host: host, headers: headers, body: #"{"name": "\#(name)"}"#))
            }
            // The CSRF probe: a page on another site posts a "simple" (text/plain) request.
            let csrf = try await post("Pwned", [("Origin", "http://evil.example"), ("Content-Type", "text/plain")])
            #expect(csrf.status == 403)
            #expect(csrf.errorCode == "forbidden")
            #expect(csrf.headers["access-control-allow-origin"] == nil)
            // Refused whatever the route and body: JSON posts, reads, the health check, a `null` origin.
            #expect(try await post("Pwned", [("Origin", "http://evil.example"), ("Content-Type", "application/json")]).status == 403)
            #expect(try await post("Pwned", [("Origin", "null"), ("Content-Type", "application/json")]).status == 403)
            for path in ["/api/workspaces", "/api/health", "/v1/chat/completions"] {
                let read = try await RawConnection.exchange(port: port, RawConnection.request(
                    "GET", path, host: host, headers: [("Origin", "http://127.0.0.1.evil.example:\(port)")]))
                #expect(read.status == 403, "\(path)")
            }
            #expect(try await client.send(.get, "/api/workspaces").text.contains("Pwned") == false)

            // The server's own origin, a listed origin and no origin at all are served.
            let own = try await post("Own", [("Origin", "http://127.0.0.1:\(port)"), ("Content-Type", "application/json")])
            #expect(own.status == 201)
            #expect(own.headers["access-control-allow-origin"] == nil)
            let listed = try await post("Listed", [("Origin", "http://app.example:3000"), ("Content-Type", "application/json")])
            #expect(listed.status == 201)
            #expect(listed.headers["access-control-allow-origin"] == "http://app.example:3000")
            #expect(listed.headers["vary"] == "Origin")
            let plain = try await post("Plain", [("Content-Type", "application/json")])
            #expect(plain.status == 201)
            #expect(plain.headers["access-control-allow-origin"] == nil)

            // Preflight: answered for the listed origin only.
            let preflightHeaders = [("Access-Control-Request-Method", "POST"),
                                    ("Access-Control-Request-Headers", "authorization, content-type")]
            let preflight = try await RawConnection.exchange(port: port, RawConnection.request(
                "OPTIONS", "/api/workspaces", host: host, headers: [("Origin", "http://app.example:3000")] + preflightHeaders))
            #expect(preflight.status == 204)
            #expect(preflight.headers["access-control-allow-origin"] == "http://app.example:3000")
            #expect(preflight.headers["access-control-allow-methods"]?.contains("POST") == true)
            #expect(preflight.headers["access-control-allow-headers"] == "authorization, content-type")
            let foreignPreflight = try await RawConnection.exchange(port: port, RawConnection.request(
                "OPTIONS", "/api/workspaces", host: host, headers: [("Origin", "http://evil.example")] + preflightHeaders))
            #expect(foreignPreflight.status == 403)
            #expect(foreignPreflight.headers["access-control-allow-origin"] == nil)
        }
    }

    @Test func webSocketUpgradeFromAForeignOriginIsRefused() async throws {
        let harness = try await TestHarness()
        try await harness.addWorkspace("Ops")
        try await harness.testLive { client in
            let port = try #require(client.port)
            let host = "127.0.0.1:\(port)"
            for path in ["/ws/agent/ops/", "/ws/chat/ops/"] {
                // Refused before the upgrade. Hummingbird answers every refused upgrade with an empty
                // 400 (the middleware's 403 does not reach the wire); what matters is no 101.
                for origin in ["http://evil.example", "http://127.0.0.1:\(port + 1)", "null"] {
                    let foreign = try await RawConnection.exchange(port: port, RawConnection.upgrade(
                        path, host: host, headers: [("Origin", origin)]))
                    #expect(foreign.status != 101, "\(path) \(origin)")
                    #expect((400..<500).contains(foreign.status), "\(path) \(origin)")
                }
                let own = try await RawConnection.exchange(port: port, RawConnection.upgrade(
                    path, host: host, headers: [("Origin", "http://127.0.0.1:\(port)")]))
                #expect(own.status == 101, "\(path)")
                let ownByName = try await RawConnection.exchange(port: port, RawConnection.upgrade(
                    path, host: "localhost:\(port)", headers: [("Origin", "http://localhost:\(port)")]))
                #expect(ownByName.status == 101, "\(path)")
                let none = try await RawConnection.exchange(port: port, RawConnection.upgrade(path, host: host))
                #expect(none.status == 101, "\(path)")
                // Non-browser WebSocket clients that send a ws: origin are not browsers.
                let library = try await RawConnection.exchange(port: port, RawConnection.upgrade(
                    path, host: host, headers: [("Origin", "ws://localhost")]))
                #expect(library.status == 101, "\(path)")
            }
        }
    }

    @Test func foreignHostIsRefusedInSingleUserMode() async throws {
        let harness = try await TestHarness { $0.security.allowedHosts = ["agenthost.lan"] }
        try await harness.addWorkspace("Ops")
        try await harness.testLive { client in
            let port = try #require(client.port)
            func health(host: String) async throws -> RawConnection.Response {
                try await RawConnection.exchange(port: port, RawConnection.request("GET", "/api/health", host: host))
            }
            // DNS rebinding: the attacker's name now points at 127.0.0.1, the browser sends it as Host.
            for host in ["evil.example", "evil.example:\(port)", "127.evil.com:\(port)", "localhost.evil.com"] {
                let response = try await health(host: host)
                #expect(response.status == 403, "\(host)")
                #expect(response.errorCode == "forbidden", "\(host)")
            }
            let upgrade = try await RawConnection.exchange(port: port, RawConnection.upgrade("/ws/agent/ops/", host: "evil.example"))
            #expect(upgrade.status != 101)
            #expect((400..<500).contains(upgrade.status))
            for host in ["127.0.0.1:\(port)", "localhost:\(port)", "[::1]:\(port)", "LOCALHOST", "agenthost.lan:\(port)"] {
                #expect(try await health(host: host).status == 200, "\(host)")
            }
            // With users, credentials protect the API and any Host name may reach it.
            try await harness.addUser("alice")
            #expect(try await health(host: "evil.example").status == 200)
        }
    }

    @Test func jsonRoutesRefuseBodiesThatAreNotJSON() async throws {
        let harness = try await TestHarness()
        try await harness.testLive { client in
            for contentType in ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"] {
                let response = try await client.execute(
                    uri: "/api/workspaces", method: .post, headers: [.contentType: contentType],
                    body: ByteBuffer(string: #"{"name": "Plain"}"#))
                #expect(response.status == .badRequest, "\(contentType)")
                #expect(response.errorCode == "invalid_json", "\(contentType)")
                let message = try response.json["error"]?["message"]?.stringValue
                #expect(message?.contains("application/json") == true)
            }
            let missing = try await client.execute(uri: "/api/workspaces", method: .post, headers: [:],
                                                   body: ByteBuffer(string: #"{"name": "Plain"}"#))
            #expect(missing.status == .badRequest)
            let json = try await client.execute(
                uri: "/api/workspaces", method: .post, headers: [.contentType: "application/json; charset=utf-8"],
                body: ByteBuffer(string: #"{"name": "Plain"}"#))
            #expect(json.status == .created)
            // A JSON document upload is still a JSON route; multipart uploads are covered by DocumentRoutesTests.
            let upload = try await client.send(.post, "/api/workspaces/plain/documents",
                                               json: #"{"name": "a.txt", "mime": "text/plain", "content_base64": "aGVsbG8="}"#)
            #expect(upload.status == .created)
        }
    }

    @Test func loopbackIsParsedNotPrefixMatched() throws {
        for host in ["127.0.0.1", "127.1.2.3", "::1", "[::1]", "localhost", "LocalHost", "::ffff:127.0.0.1"] {
            #expect(LoopbackAddress.contains(host), "\(host)")
        }
        for host in ["127.evil.com", "127.0.0.1.nip.io", "0.0.0.0", "::", "10.0.0.1", "localhost.evil.com", "128.0.0.1", ""] {
            #expect(!LoopbackAddress.contains(host), "\(host)")
        }
        var configuration = Configuration()
        configuration.host = "127.evil.com"
        #expect(!configuration.listensOnLoopbackOnly)
        #expect(throws: ConfigurationError.self) { try configuration.checkExposure(hasUsers: false) }
        configuration.host = "127.0.0.2"
        #expect(configuration.listensOnLoopbackOnly)
    }

    @Test func originsAndHostsParse() throws {
        #expect(WebOrigin("HTTP://App.Example:80/")?.serialized == "http://app.example")
        #expect(WebOrigin("https://[::1]:8443")?.serialized == "https://[::1]:8443")
        #expect(WebOrigin("null") == nil)
        #expect(WebOrigin("http://user@evil.example") == nil)
        #expect(WebOrigin("http://a.example/path") == nil)
        let origin = try #require(WebOrigin("http://localhost:8080"))
        #expect(origin.isServed(byHost: "localhost:8080"))
        #expect(!origin.isServed(byHost: "localhost:8081"))
        #expect(try #require(WebOrigin("http://localhost")).isServed(byHost: "localhost"))
        #expect(try #require(WebOrigin("https://chat.example")).isServed(byHost: "chat.example"))
        #expect(!(try #require(WebOrigin("https://chat.example")).isServed(byHost: "chat.example:80")))
        #expect(HostHeader.hostname(of: "[::1]:80") == "::1")
        #expect(HostHeader.hostname(of: "Agenthost.LAN:8080") == "agenthost.lan")
    }
}
