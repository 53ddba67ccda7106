import ChatBridge
import Foundation
import Hummingbird
import HummingbirdTesting
import Testing

@testable import AgentHost

@Suite("Export route")
struct ExportRoutesTests {
    @Test func everyFormatStreamsWithItsTypeAndFileName() async throws {
        let harness = try await TestHarness()
        let workspace = try await harness.addWorkspace("Docs")
        try await harness.addChat(workspace: workspace, prompt: "Hello, \"world\"\nline two", response: "=1+1 café 日本語")
        try await harness.addChat(workspace: workspace, prompt: "second", response: "two")
        try await harness.test { client in
            let day = String(Timestamp.string(from: Date()).prefix(10))
            for format in ExportFormat.allCases {
                let response = try await client.send(.post, "/api/chats/export/", json: #"{"format": "\#(format.rawValue)"}"#)
                #expect(response.status == .ok, "\(format)")
                #expect(response.headers[.contentType] == format.contentType)
                let disposition = response.headers[.contentDisposition] ?? ""
                #expect(disposition.hasPrefix("attachment; filename=\"agenthost-chats-\(day)"), "\(disposition)")
                #expect(disposition.hasSuffix(".\(format.fileExtension)\""))
                let bytes = Array(response.body.readableBytesView)
                switch format {
                case .json, .alpaca:
                    let array = try #require(try JSONSerialization.jsonObject(with: Data(bytes)) as? [[String: Any]])
                    #expect(array.count == 2)
                case .jsonl:
                    #expect(String(decoding: bytes, as: UTF8.self).split(separator: "\n").count == 2)
                case .csv:
                    let rows = try CSVReaderForTests.parse(String(decoding: bytes, as: UTF8.self))
                    #expect(rows.count == 3)
                    #expect(rows[1].contains("'=1+1 café 日本語"))
                    #expect(rows[1].contains("Hello, \"world\"\nline two"))
                case .txt, .md:
                    #expect(String(decoding: bytes, as: UTF8.self).contains("=1+1 café 日本語"))
                case .pdf:
                    #expect(String(decoding: bytes.prefix(8), as: UTF8.self) == "%PDF-1.4")
                }
            }
        }
    }

    @Test func filtersValidationAndOwnership() async throws {
        let harness = try await TestHarness()
        let alice = try await harness.addUser("alice")
        let bob = try await harness.addUser("bob")
        let admin = try await harness.addUser("root", role: .admin)
        let workspace = try await harness.addWorkspace("Docs")
        let aliceChat = try await harness.addChat(workspace: workspace, user: alice, prompt: "alice's")
        let bobChat = try await harness.addChat(workspace: workspace, user: bob, prompt: "bob's")
        _ = try await harness.store.setFeedback(chatId: bobChat.id!, feedback: true, viewer: .singleUser)
        try await harness.test { client in
            func ids(_ body: String, _ headers: HTTPFields) async throws -> [Int] {
                let response = try await client.send(.post, "/api/chats/export", headers: headers, json: body)
                let array = try JSONSerialization.jsonObject(with: Data(response.body.readableBytesView)) as? [[String: Any]]
                return (array ?? []).compactMap { $0["db_id"] as? Int }
            }
            let bobHeaders = try await harness.headers(for: bob)
            let adminHeaders = try await harness.headers(for: admin)
            #expect(try await ids(#"{"format": "json"}"#, bobHeaders) == [Int(bobChat.id!)])
            #expect(try await ids(#"{"format": "json"}"#, adminHeaders) == [Int(aliceChat.id!), Int(bobChat.id!)])
            #expect(try await ids(#"{"format": "json", "user": "alice"}"#, adminHeaders) == [Int(aliceChat.id!)])
            #expect(try await ids(#"{"format": "json", "feedback": true}"#, adminHeaders) == [Int(bobChat.id!)])
            #expect(try await ids(#"{"format": "json", "workspace": "docs", "to": "2000-01-01T00:00:00Z"}"#, adminHeaders).isEmpty)
            let forbidden = try await client.send(.post, "/api/chats/export", headers: bobHeaders, json: #"{"format": "json", "user": "alice"}"#)
            #expect(forbidden.status == .forbidden)
            for body in [#"{}"#, #"{"format": "docx"}"#, #"{"format": "json", "from": "soon"}"#, #"{"format": "json", "thread": "x"}"#,
                         #"{"format": "json", "feedback": "yes"}"#] {
                let response = try await client.send(.post, "/api/chats/export", headers: adminHeaders, json: body)
                #expect(response.errorCode == "validation_failed", "\(body): \(response.text)")
            }
            let missing = try await client.send(.post, "/api/chats/export", headers: adminHeaders, json: #"{"format": "csv", "workspace": "nope"}"#)
            #expect(missing.status == .notFound)
            let notJSON = try await client.send(.post, "/api/chats/export", headers: adminHeaders, json: "{")
            #expect(notJSON.errorCode == "invalid_json")
        }
    }
}

/// RFC 4180 reader for the route tests (the ChatBridge tests have their own).
enum CSVReaderForTests {
    struct Malformed: Error {}

    static func parse(_ text: String) throws -> [[String]] {
        var rows: [[String]] = []
        var row: [String] = []
        var field = ""
        var scalars = Array(text.unicodeScalars)[...]
        var quoted = false
        while let scalar = scalars.popFirst() {
            if quoted {
                if scalar == "\"" {
                    if scalars.first == "\"" { scalars.removeFirst(); field.unicodeScalars.append("\"") } else { quoted = false }
                } else {
                    field.unicodeScalars.append(scalar)
                }
            } else if scalar == "\"" {
                quoted = true
            } else if scalar == "," {
                row.append(field); field = ""
            } else if scalar == "\r" {
                guard scalars.popFirst() == "\n" else { throw Malformed() }
                row.append(field); rows.append(row); row = []; field = ""
            } else {
                field.unicodeScalars.append(scalar)
            }
        }
        guard !quoted, row.isEmpty, field.isEmpty else { throw Malformed() }
        return rows
    }
}
