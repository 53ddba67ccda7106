import ChatBridge
import Foundation
import Hummingbird
import HummingbirdTesting
import Testing

@testable import AgentHost

/// Control characters (NUL above all) in query parameters never reach SQL as they are: search text
/// treats them as separators, and names (slugs, users, cursors) refuse them with a clear 400.
@Suite("Control characters in query parameters")
struct ControlCharacterQueryTests {
    @Test func searchTextTreatsControlCharactersAsSeparators() async throws {
        let harness = try await TestHarness()
        let workspace = try await harness.addWorkspace("Docs")
        try await harness.addChat(workspace: workspace, prompt: "alpha beta", response: "gamma")
        try await harness.testLive { client in
            let both = try await client.send(.get, "/api/chats/search/?q=alpha%00beta")
            #expect(both.status == .ok, "\(both.text)")
            #expect(try both.json["results"]?.arrayValue?.count == 1, "NUL separates alpha from beta")
            for query in ["a%00b", "%00", "%01%1F%7F", "%22alpha%00beta%22", "alpha%00*", "%C2%85alpha", "a%0Db%0A"] {
                let response = try await client.send(.get, "/api/chats/search/?q=\(query)")
                #expect(response.status == .ok, "\(query): \(response.status) \(response.text)")
                #expect((try? response.json["results"]?.arrayValue) != nil, "\(query)")
            }
        }
    }

    @Test func namesWithControlCharactersAreABadRequest() async throws {
        let harness = try await TestHarness()
        let workspace = try await harness.addWorkspace("Docs")
        try await harness.addChat(workspace: workspace, prompt: "alpha", response: "beta")
        try await harness.testLive { client in
            // `docs%00x` must not silently become `docs` (SQLite would stop at the NUL) nor a 500.
            let uris = [
                "/api/chats/search/?q=alpha&workspace=docs%00x",
                "/api/chats/search/?q=alpha&workspace=docs&thread=t%00",
                "/api/chats/search/?q=alpha&cursor=%00",
                "/api/chats/?workspace=docs%00x",
                "/api/chats/?session_id=s%00",
                "/api/chats/history/?workspace=docs%00x",
                "/api/chats/history/?workspace=docs&from=2026-01-01%00",
            ]
            for uri in uris {
                let response = try await client.send(.get, uri)
                #expect(response.status == .badRequest, "\(uri): \(response.status) \(response.text)")
                #expect(response.errorCode == "validation_failed", "\(uri)")
                #expect(try response.json["error"]?["message"]?.stringValue?.contains("control character") == true, "\(uri): \(response.text)")
            }
        }
    }

    @Test func parserDropsControlCharactersFromTermsAndPhrases() {
        #expect(SearchQueryParser.terms("a\u{0}b").map(\.text) == ["a", "b"])
        #expect(SearchQueryParser.terms("\"x\u{0}y\"").map(\.text) == ["x y"])
        #expect(SearchQueryParser.matchExpression("\u{0}\u{1}\u{7F}") == nil)
        #expect(SearchQueryParser.matchExpression("a\u{85}b") == "\"a\" AND \"b\"")
    }

    @Test func documentRetrievalSplitsOnControlCharacters() {
        #expect(LexicalQuery.words("otter\u{0}beaver\u{1}heron") == ["otter", "beaver", "heron"])
        #expect(LexicalQuery("otters\u{0}").matchExpression == "\"otter\"*")
    }
}
