import Foundation
import GRDB
import Testing

@testable import ChatBridge

/// Search excerpts are made from a hit's text with the index's tokenizer (`SnippetMaker`), not by FTS5's
/// `snippet()`: these tests hold them to what FTS5 itself finds and marks in the same rows.
@Suite("Search excerpts")
struct SnippetMakerTests {
    /// Words that tokenize in the ways that matter: stems (`run`/`running`/`runs`), case and
    /// diacritics (`Café`/`cafe`), prefixes (`config`/`configuration`), punctuation inside and
    /// around words, non-ASCII text, and the ends of sentences (`.` and `:`, where FTS5 prefers a
    /// window to start).
    static let vocabulary = [
        "run", "running", "runs", "Café", "cafe", "CAFÉ", "config", "configuration", "reconfigure", "kettle",
        "Kettles", "blue", "the", "a", "über", "uber", "naïve", "e-mail", "don't", "x86_64", "42", "日本語",
        "(kettle)", "\"blue\"", "<b>", "&", "—", "kettle,", "run!", "end.", "Note:", "v1.2", "a.b",
    ]

    /// Queries as users type them: words, phrases, prefixes, mixed case and accents, words not in the text.
    static let queries = [
        "run", "running", "cafe", "CAFÉ", "config*", "conf*", "\"blue kettle\"", "kettle blue", "\"the run\"*",
        "uber", "naive", "e-mail", "don't", "x86_64", "42", "日本語", "kettles", "\"kettle kettle\"", "blue*", "ru*",
        "\"a cafe\"", "mail", "b", "\"end note\"", "\"kettle end\"", "end", "\"run run\"", "nothing",
    ]

    /// A deterministic text of `count` words from ``vocabulary``.
    static func text(seed: Int, count: Int) -> String {
        (0..<count).map { vocabulary[(seed * 7 + $0 * $0 * 13 + $0 * 5) % vocabulary.count] }.joined(separator: " ")
    }

    /// FTS5's own excerpts of every chat matching `text`, by id, with the markers the search uses.
    static func fts5Snippets(_ db: Database, _ text: String) throws -> [Int64: (prompt: String, response: String)] {
        guard let match = SearchQueryParser.matchExpression(text, columns: AppDatabase.chatSearchTextColumns) else { return [:] }
        let marks: StatementArguments = [ChatSearchHit.rawStart, ChatSearchHit.rawEnd, ChatSearchHit.ellipsis, SnippetMaker.windowTokens]
        let rows = try Row.fetchAll(db, sql: """
            SELECT rowid, snippet(workspace_chats_fts, 0, ?, ?, ?, ?), snippet(workspace_chats_fts, 1, ?, ?, ?, ?)
            FROM workspace_chats_fts WHERE workspace_chats_fts MATCH ?
            """, arguments: marks + marks + [match])
        return Dictionary(uniqueKeysWithValues: rows.map { ($0[0], (prompt: $0[1] ?? "", response: $0[2] ?? "")) })
    }

    @Test func excerptsEqualFTS5sForShortAndLongTexts() async throws {
        let store = SQLiteStore(writer: try AppDatabase.inMemory())
        let workspace = try await store.createWorkspace(Workspace(name: "Docs", slug: ""))
        // Short texts (the whole text, marked) and long ones (a window of 24 tokens, cut with `…`).
        for seed in 0..<300 {
            let short = seed % 2 == 0
            try await store.beginChat(Chat(
                workspaceId: workspace.id!, threadId: nil, userId: nil, prompt: Self.text(seed: seed, count: short ? 1 + seed % 20 : 30 + seed % 70),
                response: Self.text(seed: seed + 1_000, count: short ? seed % 23 : 25 + seed % 90), status: .completed),
                dailyLimit: nil, now: Date())
        }
        let compared = try await store.writer.read { db -> Int in
            var compared = 0
            for query in Self.queries {
                let expected = try Self.fts5Snippets(db, query)
                let maker = try SnippetMaker(db, terms: SearchQueryParser.terms(query))
                for (id, fts5) in expected {
                    let chat = try #require(try Chat.fetchOne(db, key: id))
                    #expect(maker.snippet(of: chat.prompt) == fts5.prompt, "query \(query), chat \(id), prompt")
                    #expect(maker.snippet(of: chat.response) == fts5.response, "query \(query), chat \(id), response")
                    compared += 1
                }
            }
            return compared
        }
        // Every query but the last matched some chats: the comparison covered each kind of query.
        #expect(compared > 500)
    }

    @Test func aLongChatFullOfTheWordEqualsFTS5sExcerpt() async throws {
        let store = SQLiteStore(writer: try AppDatabase.inMemory())
        let workspace = try await store.createWorkspace(Workspace(name: "Docs", slug: ""))
        // Thousands of matches in one row: each window is scored from the matches inside it only.
        let long = (0..<6_000).map { $0 % 7 == 3 ? "blue kettle." : "kettle" }.joined(separator: " ")
        let chat = try await store.beginChat(Chat(workspaceId: workspace.id!, threadId: nil, userId: nil, prompt: "kettle",
                                                  response: long, status: .completed), dailyLimit: nil, now: Date())
        try await store.writer.read { db in
            for query in ["kettle", "\"blue kettle\"", "blue kettle"] {
                let fts5 = try #require(try Self.fts5Snippets(db, query)[chat.id!])
                let maker = try SnippetMaker(db, terms: SearchQueryParser.terms(query))
                #expect(maker.snippet(of: long) == fts5.response, "query \(query)")
                #expect(maker.snippet(of: "kettle") == fts5.prompt, "query \(query)")
            }
        }
    }

    /// A phrase across a sentence end (`blue. kettle`) can start before a window that starts a
    /// sentence, and one near the end can run past it: FTS5 leaves the first unmarked and marks the
    /// second's part in the window.
    @Test func phrasesCutByTheWindowAreMarkedAsFTS5MarksThem() async throws {
        let store = SQLiteStore(writer: try AppDatabase.inMemory())
        let workspace = try await store.createWorkspace(Workspace(name: "Docs", slug: ""))
        func words(_ prefix: String, _ count: Int) -> [String] { (0..<count).map { "\(prefix)\($0)" } }
        let texts = [
            // The window starts at "kettle", the second half of the first "blue. kettle".
            (words("w", 30) + ["blue.", "kettle"] + words("x", 8) + ["blue", "kettle"] + words("y", 30)).joined(separator: " "),
            // The window ends at "blue", the first half of the second "blue kettle".
            (words("w", 30) + ["end.", "z", "blue", "kettle"] + words("z", 20) + ["blue", "kettle"] + words("y", 30)).joined(separator: " "),
        ]
        var ids: [Int64] = []
        for text in texts {
            ids.append(try await store.beginChat(Chat(workspaceId: workspace.id!, threadId: nil, userId: nil, prompt: text,
                                                      status: .completed), dailyLimit: nil, now: Date()).id!)
        }
        try await store.writer.read { [ids] db in
            let fts5 = try Self.fts5Snippets(db, "\"blue kettle\"")
            let maker = try SnippetMaker(db, terms: SearchQueryParser.terms("\"blue kettle\""))
            for (id, text) in zip(ids, texts) {
                let expected = try #require(fts5[id]?.prompt)
                #expect(maker.snippet(of: text) == expected)
            }
            // The texts do cut a phrase at each end of the window.
            #expect(fts5[ids[0]]?.prompt.hasPrefix("…kettle x0") == true)
            #expect(fts5[ids[1]]?.prompt.hasSuffix("\u{1}blue\u{2}…") == true)
        }
    }

    @Test func aMatchInTheOtherColumnIsNotMarked() async throws {
        let db = try AppDatabase.inMemory()
        try await db.read { db in
            let maker = try SnippetMaker(db, terms: SearchQueryParser.terms("kettle"))
            #expect(maker.snippet(of: "the kettle boils") == "the \u{1}kettle\u{2} boils")
            #expect(maker.snippet(of: "the kettle boils", marksMatches: false) == "the kettle boils")
        }
    }

    @Test func aLongTextIsCutAroundItsBestWindow() async throws {
        let db = try AppDatabase.inMemory()
        try await db.read { db in
            let filler = (0..<60).map { "w\($0)" }
            let text = (filler[0..<30] + ["needle", "and", "haystack"] + filler[30...]).joined(separator: " ")
            let snippet = try SnippetMaker(db, terms: SearchQueryParser.terms("needle haystack")).snippet(of: text)
            #expect(snippet == "…w20 w21 w22 w23 w24 w25 w26 w27 w28 w29 \u{1}needle\u{2} and \u{1}haystack\u{2} w30 w31 w32 w33 w34 w35 w36 w37 w38 w39 w40…")
            // No match: the start of the text.
            let start = try SnippetMaker(db, terms: SearchQueryParser.terms("absent")).snippet(of: text)
            #expect(start == filler[0..<24].joined(separator: " ") + "…")
        }
    }

    @Test func textWithoutTokensIsKeptWhole() async throws {
        let db = try AppDatabase.inMemory()
        try await db.read { db in
            let maker = try SnippetMaker(db, terms: SearchQueryParser.terms("kettle"))
            #expect(maker.snippet(of: "") == "")
            #expect(maker.snippet(of: "!!! ... ???") == "!!! ... ???")
        }
    }
}
