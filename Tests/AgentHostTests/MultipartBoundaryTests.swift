import ChatBridge
import Foundation
import GRDB
import Hummingbird
import HummingbirdTesting
import NIOCore
import Testing

@testable import AgentHost

/// Multipart uploads go through multipart-kit with RFC 2046 boundary rules (issue 11: a
/// 60,000-character boundary burned 30 s+ of CPU in the hand-written parser).
@Suite("Multipart boundaries", .timeLimit(.minutes(2)))
struct MultipartBoundaryTests {
    static func body(boundary: String, file: String, closed: Bool = true) -> [UInt8] {
        var body = Array("--\(boundary)\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.txt\"\r\nContent-Type: text/plain\r\n\r\n".utf8)
        body += Array(file.utf8)
        if closed { body += Array("\r\n--\(boundary)--\r\n".utf8) }
        return body
    }

    static func post(_ client: some TestClientProtocol, contentType: String, body: [UInt8]) async throws -> TestResponse {
        try await client.execute(uri: "/api/workspaces/docs/documents", method: .post,
                                 headers: [.contentType: contentType], body: ByteBuffer(bytes: body))
    }

    @Test func aHugeBoundaryIsAClear400AtOnce() async throws {
        let harness = try await TestHarness()
        try await harness.addWorkspace("Docs")
        // Dashes are legal boundary characters; a preamble of dashes is a near-miss of the delimiter
        // at every byte, which cost the old byte-by-byte search 60,000 comparisons per byte.
        let boundary = String(repeating: "-", count: 60_000)
        let body = Array(String(repeating: "-", count: 200_000).utf8) + [13, 10] + Self.body(boundary: boundary, file: "x")
        try await harness.testLive { client in
            let started = ContinuousClock.now
            let response = try await Self.post(client, contentType: "multipart/form-data; boundary=\(boundary)", body: body)
            // A hang guard, not a benchmark: the old parser spent 30 s+ of CPU here on an idle machine;
            // the answer now takes milliseconds, plus whatever a loaded test machine adds.
            #expect(ContinuousClock.now - started < .seconds(60))
            #expect(response.status == .badRequest, "\(response.text.prefix(300))")
            #expect(response.errorCode == "validation_failed")
            let message = try #require(try response.json["error"]?["message"]?.stringValue)
            #expect(message.contains("RFC 2046") && message.contains("60000 characters"))
            #expect(message.count < 400, "the boundary is not echoed whole")
        }
    }

    /// Schemathesis found it: multipart-kit 4.7.1 indexes a 128-entry table with each header-name
    /// byte, so a byte of 0x80 or more where a part header's name goes trapped and killed the server.
    @Test func aNonASCIIHeaderNameIsA400NotACrash() async throws {
        let harness = try await TestHarness()
        try await harness.addWorkspace("Docs")
        let boundary = "e4137dba587a6de6f6fe1c62393e2858"
        let bodies: [[UInt8]] = [
            // The fuzzer's body: a non-ASCII first byte right after the opening delimiter.
            Array("--\(boundary)\r\n".utf8) + [0xF4, 0x8A, 0xB1, 0xB1, 0x03] + Array("\r\n--\(boundary)--\r\n".utf8),
            // After a valid header, and in the second part.
            Array("--\(boundary)\r\nContent-Type: text/plain\r\n\u{E9}t\u{E9}: x\r\n\r\nhello\r\n--\(boundary)--\r\n".utf8),
            Self.body(boundary: boundary, file: "one", closed: false)
                + Array("\r\n--\(boundary)\r\nX-\u{FF}: y\r\n\r\ntwo\r\n--\(boundary)--\r\n".utf8),
            // A review found it: the parser ends a header's value at `\r` and keeps a bare `\n` in it, so
            // `\n\r\n` is no empty line to it and the next byte starts a header name.
            Array("--\(boundary)\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.txt\"\n\r\n".utf8) + [0xF4]
                + Array(": x\r\n\r\nhello\r\n--\(boundary)--\r\n".utf8),
        ]
        try await harness.testLive { client in
            for body in bodies {
                let response = try await Self.post(client, contentType: "multipart/form-data; boundary=\(boundary)", body: body)
                #expect(response.status == .badRequest, "\(response.text.prefix(300))")
                #expect(response.errorCode == "validation_failed")
            }
            // Non-ASCII header VALUES (a UTF-8 filename) are fine, and the server is still up.
            let utf8Name = Array("--\(boundary)\r\nContent-Disposition: form-data; name=\"file\"; filename=\"caf\u{E9}.txt\"\r\n\r\nhello\r\n--\(boundary)--\r\n".utf8)
            let accepted = try await Self.post(client, contentType: "multipart/form-data; boundary=\(boundary)", body: utf8Name)
            #expect(accepted.status == .created, "\(accepted.text)")
            #expect(try accepted.json["name"]?.stringValue == "caf\u{E9}.txt")
        }
    }

    @Test func boundaryRulesFollowRFC2046() async throws {
        let harness = try await TestHarness()
        try await harness.addWorkspace("Docs")
        try await harness.testLive { client in
            let longest = String(repeating: "'()+_,-./:=? Az09", count: 5).prefix(69) + "Z"
            #expect(longest.count == 70)
            let accepted = try await Self.post(client, contentType: "multipart/form-data; boundary=\"\(longest)\"",
                                               body: Self.body(boundary: String(longest), file: "seventy"))
            #expect(accepted.status == .created, "\(accepted.text)")
            for bad in [String(repeating: "a", count: 71), "trailing ", "semi;colon", "caf\u{E9}", "tab\there", "quote\\\"d", "<angle>"] {
                let quoted = "\"" + bad.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
                let response = try await Self.post(client, contentType: "multipart/form-data; boundary=\(quoted)",
                                                   body: Self.body(boundary: bad, file: "x"))
                #expect(response.status == .badRequest, "\(bad): \(response.text)")
                #expect(try response.json["error"]?["message"]?.stringValue?.contains("RFC 2046") == true, "\(bad): \(response.text)")
            }
            let missing = try await Self.post(client, contentType: "multipart/form-data", body: Self.body(boundary: "x", file: "x"))
            #expect(missing.errorCode == "validation_failed")
            #expect(try missing.json["error"]?["message"]?.stringValue?.contains("boundary parameter") == true)
        }
    }

    @Test func bodiesAreSplitExactlyAndTruncationIsRefused() async throws {
        let harness = try await TestHarness()
        try await harness.addWorkspace("Docs")
        try await harness.testLive { client in
            // Near-misses of the delimiter inside the file stay part of it.
            let tricky = "line one\r\n--boundar\r\n-- boundary\r\n\r--boundary-ish is not it"
            let ok = try await Self.post(client, contentType: "multipart/form-data; boundary=boundary",
                                         body: Self.body(boundary: "boundary", file: tricky))
            #expect(ok.status == .created, "\(ok.text)")
            let id = try #require(try ok.json["id"]?.intValue)
            let shown = try await client.send(.get, "/api/workspaces/docs/documents/\(id)")
            #expect(try shown.json["text"]?.stringValue == tricky.replacingOccurrences(of: "\r\n", with: "\n").replacingOccurrences(of: "\r", with: "\n"))

            let truncated = try await Self.post(client, contentType: "multipart/form-data; boundary=boundary",
                                                body: Self.body(boundary: "boundary", file: "cut short", closed: false))
            #expect(truncated.errorCode == "validation_failed", "\(truncated.text)")
            #expect(try truncated.json["error"]?["message"]?.stringValue?.contains("malformed") == true)
            let noParts = try await Self.post(client, contentType: "multipart/form-data; boundary=boundary", body: Array("no delimiter".utf8))
            #expect(noParts.errorCode == "validation_failed")
            let badHeader = try await Self.post(client, contentType: "multipart/form-data; boundary=boundary",
                                                body: Array("--boundary\r\nBad Header Name: x\r\n\r\ndata\r\n--boundary--\r\n".utf8))
            #expect(badHeader.errorCode == "validation_failed", "\(badHeader.text)")
        }
        let stored = try await harness.store.writer.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM documents")! }
        #expect(stored == 1)
    }
}
