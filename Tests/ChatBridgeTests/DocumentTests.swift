import Foundation
import GRDB
import Testing

@testable import ChatBridge

/// A database with one workspace, and helpers to ingest documents into it.
struct DocumentFixture {
    let writer: DatabaseQueue
    let store: SQLiteDocumentStore
    var workspace: Workspace

    init(configure: (inout Workspace) -> Void = { _ in }) async throws {
        writer = try AppDatabase.inMemory()
        store = SQLiteDocumentStore(writer: writer)
        var workspace = Workspace(name: "Docs", slug: "docs")
        configure(&workspace)
        workspace = try await SQLiteStore(writer: writer).createWorkspace(workspace)
        self.workspace = workspace
    }

    @discardableResult
    func add(_ name: String, _ text: String, mime: String = "text/markdown", owner: Int64? = nil, embedder: (any Embedder)? = nil,
             settings: DocumentSettings = DocumentSettings()) async throws -> Document {
        try await DocumentIngestor(store: store, settings: settings, embedder: embedder)
            .ingest(workspaceId: workspace.id!, userId: owner, name: name, mime: mime, data: Array(text.utf8))
    }

    /// A user of the fixture's database.
    func user(_ name: String) async throws -> Int64 {
        try #require(try await SQLiteStore(writer: writer).createUser(User(username: name, passwordHash: "x")).id)
    }

    func pin(_ document: Document) async throws {
        _ = try await store.setPinned(id: document.id!, workspaceId: workspace.id!, pinned: true, viewer: .singleUser)
    }
}

@Suite("Document chunking")
struct DocumentChunkingTests {
    @Test func queryWordsAreLowercasedFoldedAndSplitLikeUnicode61() {
        #expect(LexicalQuery.words("Café CRÈME, naïve e\u{301}te; 50%off x_y 日本 🙂ok")
            == ["cafe", "creme", "naive", "ete", "50", "off", "x", "y", "日本", "ok"])
        #expect(LexicalQuery.words("  ").isEmpty)
        #expect(LexicalQuery("What are the Policies?").stems == ["polic"])
    }

    @Test func headingsStartChunksAndParagraphsAreNeverSplitWhenTheyFit() {
        let chunker = DocumentChunker(size: 120, overlap: 30)
        let paragraphs = (1...6).map { "Paragraph \($0) has some words in it to fill the line." }  // 52 chars
        let text = "# Intro\n\n" + paragraphs[0...2].joined(separator: "\n\n") + "\n\n## Details\n\n" + paragraphs[3...5].joined(separator: "\n\n")
        let pieces = chunker.chunk(text)
        #expect(pieces.map(\.heading) == ["Intro", "Intro", "Details", "Details"])
        for piece in pieces {
            #expect(piece.text.count <= 120 + 30 + 2, "a chunk is at most size plus the overlap carried over")
            #expect(!piece.text.contains("#"), "headings are not part of the passage text")
        }
        // Every paragraph appears whole in some chunk, and no chunk mixes sections.
        for (index, paragraph) in paragraphs.enumerated() {
            let section = index < 3 ? "Intro" : "Details"
            #expect(pieces.contains { $0.text.contains(paragraph) && $0.heading == section })
        }
        // The second chunk of a section starts with the tail of the first (overlap), on a word boundary.
        let second = pieces[1].text
        let sharedWords = Set(pieces[0].text.split(separator: " ").suffix(3)).intersection(Set(second.split(separator: " ").prefix(6)))
        #expect(!sharedWords.isEmpty, "consecutive chunks overlap")
        #expect(!pieces[2].text.contains("Paragraph 3"), "no overlap across headings")
    }

    @Test func longParagraphsAreCutAtSentencesThenWords() {
        let chunker = DocumentChunker(size: 100, overlap: 0)
        let sentence = "This sentence is exactly forty-four chars. "
        let pieces = chunker.chunk(String(repeating: sentence, count: 10))
        #expect(pieces.count == 5)
        #expect(pieces.allSatisfy { $0.text.count <= 100 && $0.text.hasSuffix("chars.") })
        let word = String(repeating: "x", count: 250)
        let hard = chunker.chunk(word)
        #expect(hard.map(\.text.count) == [100, 100, 50])
    }

    @Test func hashLinesInFencedCodeAreNotHeadings() {
        let text = """
            # Setup

            Install the tools first.

            ```sh
            # install the compiler
            apt-get install swift

            ## not a heading either
            ```

            ~~~~
            #include <stdio.h>
            ~~~
            # still code: a fence closes only with at least as many characters
            ~~~~

            # Usage

            Run it.
            """
        let pieces = DocumentChunker(size: 1000, overlap: 0).chunk(text)
        #expect(pieces.map(\.heading) == ["Setup", "Usage"])
        let setup = pieces[0].text
        #expect(setup.contains("# install the compiler\napt-get install swift\n\n## not a heading either\n```"),
                "the code block stays whole, blank line included")
        #expect(setup.contains("#include <stdio.h>") && setup.contains("# still code"))
        #expect(pieces[1].text == "Run it.")
        // Outside fences, indented heading lines still count.
        #expect(DocumentChunker().chunk("  ## Indented\n\ntext").map(\.heading) == ["Indented"])
    }

    @Test func defaultsAreAboutAThousandCharactersWithOverlap() {
        let text = (1...60).map { "Sentence number \($0) talks about the topic at some length." }.joined(separator: " ")
        let pieces = DocumentChunker().chunk(text)
        #expect(pieces.count >= 3)
        #expect(pieces.allSatisfy { $0.text.count <= 1000 + 150 })
        #expect(pieces.dropLast().allSatisfy { $0.text.count > 800 })
    }
}

@Suite("Document extraction")
struct DocumentExtractionTests {
    let extractor = DocumentExtractor(maxBytes: 1 << 20)

    func extract(_ text: String, mime: String?, name: String = "f") async throws -> (DocumentType, String) {
        let result = try await extractor.extract(name: name, mime: mime, data: Array(text.utf8))
        return (result.type, result.text)
    }

    @Test func htmlKeepsHeadingsDropsScriptsAndDecodesEntities() async throws {
        let html = """
            <html><head><title>T</title><style>p { color: red }</style><script>alert("x")</script></head>
            <body><h1>Shipping &amp; returns</h1><p>Parcels leave within&nbsp;2 days &#8211; &quot;always&quot;.</p>
            <!-- hidden --><h2>Refunds</h2><ul><li>Card</li><li>Cash &#x263A;</li></ul></body></html>
            """
        let (type, text) = try await extract(html, mime: "text/html; charset=utf-8")
        #expect(type == .html)
        #expect(text.contains("# Shipping & returns"))
        #expect(text.contains("## Refunds"))
        #expect(text.contains("Parcels leave within 2 days – \"always\"."))
        #expect(text.contains("Cash ☺"))
        #expect(!text.contains("alert") && !text.contains("color") && !text.contains("hidden") && !text.contains("<"))
    }

    @Test func csvRowsBecomeLabelledParagraphs() async throws {
        let (type, text) = try await extract("city,country\nParis,France\n\"Rome, old\",\"It\"\"aly\"\n", mime: nil, name: "c.csv")
        #expect(type == .csv)
        #expect(text == "city: Paris\ncountry: France\n\ncity: Rome, old\ncountry: It\"aly")
    }

    @Test func jsonBecomesPathValueLines() async throws {
        let (type, text) = try await extract(#"{"name": "Widget", "tags": ["a", "b"], "price": {"eur": 12.5}}"#, mime: "application/json")
        #expect(type == .json)
        #expect(text == "name: Widget\nprice.eur: 12.5\ntags[0]: a\ntags[1]: b")
    }

    @Test func aKnownExtensionWinsOverAnUnsupportedDeclaredType() async throws {
        // Windows declares .csv as Excel; macOS sends .md as application/x-markdown or octet-stream.
        #expect(DocumentType.detect(mime: "application/vnd.ms-excel", name: "report.csv") == .csv)
        #expect(DocumentType.detect(mime: "application/x-unknown; charset=x", name: "notes.MD") == .markdown)
        #expect(DocumentType.detect(mime: "text/plain", name: "data.csv") == .text, "a supported declared type is kept")
        #expect(DocumentType.detect(mime: "application/vnd.ms-excel", name: "sheet.xls") == nil)
        let (type, text) = try await extract("city,country\nParis,France\n", mime: "application/vnd.ms-excel", name: "report.csv")
        #expect(type == .csv)
        #expect(text == "city: Paris\ncountry: France")
    }

    @Test func badInputsSayWhatIsWrong() async throws {
        await #expect(throws: APIError.validation("The document 'e.txt' is empty.")) {
            try await extractor.extract(name: "e.txt", mime: "text/plain", data: [])
        }
        let small = DocumentExtractor(maxBytes: 10)
        let tooLarge = await #expect(throws: APIError.self) { try await small.extract(name: "big.txt", mime: "text/plain", data: Array(repeating: 65, count: 11)) }
        #expect(tooLarge?.code == .tooLarge)
        let unsupported = await #expect(throws: APIError.self) { try await extract("x", mime: "image/png") }
        #expect(unsupported?.code == .validationFailed)
        #expect(unsupported?.message.contains("application/pdf") == true)
        let badJSON = await #expect(throws: APIError.self) { try await extract("{nope", mime: "application/json") }
        #expect(badJSON?.message.contains("not valid JSON") == true)
        let binary = await #expect(throws: APIError.self) { try await extractor.extract(name: "b.txt", mime: "text/plain", data: [0xFF, 0xFE, 0x00]) }
        #expect(binary?.message.contains("UTF-8") == true)
    }
}

@Suite("Document retrieval")
struct DocumentRetrievalTests {
    static let handbook = """
        # Holidays
        Employees get 25 days of paid holiday per year. Unused holiday days expire in March.

        # Expenses
        Travel expenses are reimbursed within 30 days when receipts are attached.

        # Security
        Laptops must use full disk encryption and lock after five minutes.
        """

    @Test func lexicalScoresAreZeroToOneAndRespectTheThreshold() async throws {
        let fixture = try await DocumentFixture()
        let document = try await fixture.add("handbook.md", Self.handbook)
        #expect(document.chunkCount == 3)
        let retriever = DocumentRetriever(store: fixture.store)
        let hits = try await retriever.retrieve(query: "How many holiday days do employees get?", workspace: fixture.workspace)
        #expect(hits.first?.source.chunk.contains("25 days") == true)
        #expect(hits.first?.source.title == "handbook.md")
        #expect(hits.first?.source.documentId == document.id)
        #expect(hits.allSatisfy { (0...1).contains($0.source.score) })
        #expect(hits.first!.source.score == 1, "every query word is in the holiday passage")
        // A question about something the documents never mention passes no passage.
        #expect(try await retriever.retrieve(query: "What is the parking policy for bicycles?", workspace: fixture.workspace).isEmpty)
        // Plurals and stems match: "receipt" finds "receipts", "reimbursement" finds "reimbursed" via the stem "reimburs".
        let expenses = try await retriever.retrieve(query: "receipt reimbursement", workspace: fixture.workspace)
        #expect(expenses.first?.source.chunk.contains("Travel") == true)
    }

    @Test func topNLimitsAndPinnedDocumentsComeFirst() async throws {
        let fixture = try await DocumentFixture { $0.topN = 1 }
        try await fixture.add("handbook.md", Self.handbook)
        let faq = try await fixture.add("faq.txt", "Office hours are nine to five.", mime: "text/plain")
        let retriever = DocumentRetriever(store: fixture.store)
        let before = try await retriever.retrieve(query: "holiday days encryption laptops", workspace: fixture.workspace)
        #expect(before.count == 1 && before.allSatisfy { !$0.pinned })

        try await fixture.pin(faq)
        let after = try await retriever.retrieve(query: "holiday days", workspace: fixture.workspace, ownerId: nil)
        #expect(after.chunks.map(\.pinned) == [true, false])
        #expect(after.chunks[0].source.chunk == "Office hours are nine to five.")
        #expect(after.chunks[0].source.score == 1)
        #expect(after.chunks[1].heading == "Holidays", "the heading comes with the passage, for the prompt")
        #expect(after.matched)
        // Pinned passages come even when nothing matches, but they are no match: query mode refuses.
        let unrelated = try await retriever.retrieve(query: "zebra", workspace: fixture.workspace, ownerId: nil)
        #expect(unrelated.chunks.map(\.pinned) == [true])
        #expect(!unrelated.matched)
        // A pinned passage that answers the question by its own score is a match.
        let pinnedAnswer = try await retriever.retrieve(query: "office hours", workspace: fixture.workspace, ownerId: nil)
        #expect(pinnedAnswer.chunks.map(\.pinned) == [true])
        #expect(pinnedAnswer.matched)

        // The character budget bounds everything, pinned passages included.
        let tight = DocumentRetriever(store: fixture.store, contextCharacters: 10)
        #expect(try await tight.retrieve(query: "holiday", workspace: fixture.workspace).isEmpty)
    }

    @Test func deletingADocumentRemovesItsChunksFromTheIndex() async throws {
        let fixture = try await DocumentFixture()
        let document = try await fixture.add("handbook.md", Self.handbook)
        let retriever = DocumentRetriever(store: fixture.store)
        #expect(try await !retriever.retrieve(query: "encryption", workspace: fixture.workspace).isEmpty)
        #expect(try await fixture.store.deleteDocument(id: document.id!, workspaceId: fixture.workspace.id!, viewer: .singleUser))
        #expect(try await retriever.retrieve(query: "encryption", workspace: fixture.workspace).isEmpty)
        let counts = try await fixture.writer.read { db in
            (try Int.fetchOne(db, sql: "SELECT count(*) FROM document_chunks")!,
             try Int.fetchOne(db, sql: "SELECT count(*) FROM document_chunks_fts WHERE document_chunks_fts MATCH 'encryption'")!)
        }
        #expect(counts == (0, 0))
    }

    @Test func ownershipLikeChats() async throws {
        let fixture = try await DocumentFixture()
        let accounts = SQLiteStore(writer: fixture.writer)
        let ana = try await accounts.createUser(User(username: "ana", passwordHash: "x"))
        let bob = try await accounts.createUser(User(username: "bob", passwordHash: "x"))
        let document = try await DocumentIngestor(store: fixture.store, settings: DocumentSettings(), embedder: nil)
            .ingest(workspaceId: fixture.workspace.id!, userId: ana.id, name: "a.txt", mime: "text/plain", data: Array("hello".utf8))
        let anaView = Viewer(userId: ana.id, isAdmin: false), bobView = Viewer(userId: bob.id, isAdmin: false)
        #expect(try await fixture.store.documents(workspaceId: fixture.workspace.id!, viewer: anaView).count == 1)
        #expect(try await fixture.store.documents(workspaceId: fixture.workspace.id!, viewer: bobView).isEmpty)
        #expect(try await fixture.store.document(id: document.id!, workspaceId: fixture.workspace.id!, viewer: bobView) == nil)
        #expect(try await !fixture.store.deleteDocument(id: document.id!, workspaceId: fixture.workspace.id!, viewer: bobView))
        #expect(try await fixture.store.documents(workspaceId: fixture.workspace.id!, viewer: .singleUser).count == 1)
    }

    @Test func pinnedPassagesInContextAreLeftOutOfTheRankingInSQL() async throws {
        let fixture = try await DocumentFixture { $0.topN = 2 }
        // Thirty short pinned sections about otters, each its own chunk, would fill any candidate
        // list; the non-pinned passages must still be ranked and come after them.
        let sections = (1...30).map { number in
            "# Section \(number)\n\n" + (number == 4 ? String(repeating: "Long filler words here. ", count: 15) : "Otters number \(number).")
        }.joined(separator: "\n\n")
        let pinned = try await fixture.add("pinned.md", sections)
        try await fixture.pin(pinned)
        try await fixture.add("rivers.txt", "Otters live in rivers and eat fish all day long.", mime: "text/plain")
        try await fixture.add("coasts.txt", "Sea otters float on their backs along the coasts.", mime: "text/plain")
        let retriever = DocumentRetriever(store: fixture.store, candidateLimit: 5)
        let retrieval = try await retriever.retrieve(query: "otters", workspace: fixture.workspace, ownerId: nil)
        #expect(retrieval.chunks.count == 32)
        #expect(retrieval.chunks.prefix(30).allSatisfy { $0.pinned })
        #expect(Set(retrieval.chunks.suffix(2).map(\.source.title)) == ["rivers.txt", "coasts.txt"])
        #expect(Set(retrieval.chunks.map(\.source.chunk)).count == 32, "no passage twice")

        // Pinned passages beyond the budget (from the long section 4 on) are not in context, so
        // they may still be found by score, in the room left.
        let tight = DocumentRetriever(store: fixture.store, contextCharacters: 200)
        let bounded = try await tight.retrieve(query: "otters number 29", workspace: fixture.workspace, ownerId: nil)
        #expect(bounded.chunks.filter(\.pinned).map(\.heading) == ["Section 1", "Section 2", "Section 3"])
        #expect(bounded.chunks.contains { !$0.pinned && $0.source.chunk == "Otters number 29." })
    }

    @Test func retrievalReadsOnlyTheOwnersDocuments() async throws {
        let fixture = try await DocumentFixture { $0.topN = 10; $0.similarityThreshold = 0.3 }
        let ana = try await fixture.user("ana"), bob = try await fixture.user("bob")
        let embedder = HashingEmbedder(dimensions: 64)
        let anaNotes = try await fixture.add("ana.txt", "The vault code is 4711 and the safe is behind the painting.",
                                             mime: "text/plain", owner: ana, embedder: embedder)
        let anaPinned = try await fixture.add("ana-pinned.txt", "Ana's salary is confidential.", mime: "text/plain", owner: ana,
                                              embedder: embedder)
        try await fixture.pin(anaPinned)
        try await fixture.add("bob.txt", "The painting in the hall is a landscape.", mime: "text/plain", owner: bob, embedder: embedder)
        try await fixture.add("shared.txt", "Single-user notes about the vault.", mime: "text/plain", embedder: embedder)
        let retriever = DocumentRetriever(store: fixture.store, embedder: embedder)

        func titles(_ owner: Int64?, _ query: String) async throws -> [String] {
            try await retriever.retrieve(query: query, workspace: fixture.workspace, ownerId: owner).chunks.map(\.source.title)
        }
        #expect(try await titles(ana, "vault code painting") == ["ana-pinned.txt", "ana.txt"])
        #expect(try await !titles(bob, "vault code painting").contains { $0.hasPrefix("ana") },
                "neither Ana's pinned nor her other document")
        #expect(try await titles(bob, "painting hall landscape") == ["bob.txt"])
        #expect(try await titles(nil, "vault notes") == ["shared.txt"], "nil owner: the documents without owner only")
        // Vector candidates too: at threshold 0 every one of the owner's vectors is a candidate, and only those.
        let vectors = try await retriever.search(query: "vault code", workspaceId: fixture.workspace.id!, ownerId: bob, limit: 10,
                                                 threshold: 0, mode: .vector)
        #expect(vectors.map(\.documentName) == ["bob.txt"])
        let anaVectors = try await retriever.search(query: "vault code", workspaceId: fixture.workspace.id!, ownerId: ana, limit: 10,
                                                    threshold: 0, mode: .vector)
        #expect(Set(anaVectors.map(\.documentId)) == [anaNotes.id!, anaPinned.id!])

        // IDF statistics are the owner's: others' documents do not shift Bob's scores.
        let lexical = DocumentRetriever(store: fixture.store)
        func bobScore() async throws -> Double? {
            try await lexical.search(query: "painting gallery", workspaceId: fixture.workspace.id!, ownerId: bob, limit: 1,
                                     threshold: 0).first?.score
        }
        let before = try #require(try await bobScore())
        for index in 1...5 {
            try await fixture.add("gallery\(index).txt", "The gallery \(index) is open.", mime: "text/plain", owner: ana)
        }
        #expect(try await bobScore() == before)
    }

    /// Term counts are remembered per scope and counted again once the workspace's passages change
    /// or the scope's passages do (a deleted owner's documents become the ownerless ones).
    @Test func cachedTermCountsFollowNewPassagesAndOwnerChanges() async throws {
        let fixture = try await DocumentFixture()
        let ana = try await fixture.user("ana")
        let retriever = DocumentRetriever(store: fixture.store)
        let terms = LexicalQuery("holiday encryption vacation")
        let shared = DocumentRetriever.Scope(workspaceId: fixture.workspace.id!, ownerId: nil)
        func counted() async throws -> (total: Int, frequencies: [Int]) {
            try await retriever.termStatistics(terms, scope: shared)
        }
        func fresh() async throws -> (total: Int, frequencies: [Int]) {
            try await fixture.store.termFrequencies(terms, workspaceId: fixture.workspace.id!, ownerId: nil)
        }
        try await fixture.add("handbook.md", Self.handbook)
        #expect(try await counted() == (3, [1, 1, 0]))
        try await fixture.add("vacation.txt", "Holiday and vacation are the same here.", mime: "text/plain")
        #expect(try await counted() == fresh())
        #expect(try await counted() == (4, [2, 1, 1]))
        try await fixture.add("ana.txt", "Ana's holiday plans.", mime: "text/plain", owner: ana)
        #expect(try await counted() == (4, [2, 1, 1]), "another owner's passages are not the scope's")
        // Deleting Ana leaves her document without owner: no passage changed, the shared scope did.
        try await fixture.writer.write { db in try db.execute(sql: "DELETE FROM users WHERE id = ?", arguments: [ana]) }
        #expect(try await counted() == fresh())
        #expect(try await counted() == (5, [3, 1, 1]))
    }

    /// Over `matchLimit` matches, the candidate search keeps the rarest terms whose passages fit (at
    /// least the rarest one), in the question's order; the common ones still count in the scores.
    @Test func aCommonTermLeavesTheCandidateSearchButStillScores() async throws {
        let retriever = DocumentRetriever(store: SQLiteDocumentStore(writer: try AppDatabase.inMemory()), matchLimit: 10)
        let terms = LexicalQuery("harbour velkor dranmoor")
        #expect(terms.stems == ["harbour", "velkor", "dranmoor"])
        #expect(retriever.candidateTerms(terms, frequencies: [3, 2, 4]).stems == terms.stems, "all fit")
        #expect(retriever.candidateTerms(terms, frequencies: [500, 2, 4]).stems == ["velkor", "dranmoor"])
        #expect(retriever.candidateTerms(terms, frequencies: [500, 9, 4]).stems == ["dranmoor"])
        #expect(retriever.candidateTerms(terms, frequencies: [500, 90, 40]).stems == ["dranmoor"], "the rarest always")

        let fixture = try await DocumentFixture { $0.topN = 3; $0.similarityThreshold = 0 }
        let filler = (1...12).map { "# Note \($0)\n\nThe harbour is busy on day \($0)." }.joined(separator: "\n\n")
        try await fixture.add("harbours.md", filler)
        try await fixture.add("velkor.md", "# Velkor\n\nThe harbour of Velkor is Dranmoor.\n\n# Other\n\nVelkor trades wool.")
        let capped = DocumentRetriever(store: fixture.store, matchLimit: 3)
        let hits = try await capped.search(query: "What is the harbour of Velkor?", workspaceId: fixture.workspace.id!, limit: 3, threshold: 0)
        #expect(hits.first?.text.contains("The harbour of Velkor is Dranmoor.") == true)
        #expect(hits.first?.lexicalScore == 1, "harbour, left out of the candidate search, still counts")
        let uncapped = try await DocumentRetriever(store: fixture.store)
            .search(query: "What is the harbour of Velkor?", workspaceId: fixture.workspace.id!, limit: 3, threshold: 0)
        #expect(uncapped.first == hits.first)
    }

    @Test func shortTermsMatchWholeWordsOnly() async throws {
        let fixture = try await DocumentFixture { $0.topN = 10; $0.similarityThreshold = 0.5 }
        try await fixture.add("a.txt", "Release 5 ships in spring.", mime: "text/plain")
        try await fixture.add("b.txt", "We have 50 rooms and 512 beds on 5G floors.", mime: "text/plain")
        try await fixture.add("c.txt", "Go to the ok corral.", mime: "text/plain")
        try await fixture.add("d.txt", "Okapis and okra grow here.", mime: "text/plain")
        let retriever = DocumentRetriever(store: fixture.store)
        func titles(_ query: String) async throws -> [String] {
            try await retriever.search(query: query, workspaceId: fixture.workspace.id!, limit: 10, threshold: 0.5).map(\.documentName)
        }
        #expect(try await titles("5") == ["a.txt"])
        #expect(try await titles("ok") == ["c.txt"])
        // Three characters and more stay prefixes.
        #expect(try await titles("okr") == ["d.txt"])
        #expect(try await titles("release") == ["a.txt"])
        #expect(LexicalQuery("5 ok policies").matchExpression == #""5" OR "ok" OR "polic"*"#)
    }

    /// Fails every call, as an embeddings provider that is down.
    struct FailingEmbedder: Embedder {
        var model: String
        func embed(_ inputs: [String]) async throws -> [[Float]] {
            throw APIError(.providerError, "The embeddings provider answered HTTP 500: down")
        }
    }

    @Test func aFailingEmbeddingsProviderFallsBackToBM25() async throws {
        let fixture = try await DocumentFixture()
        let working = HashingEmbedder(dimensions: 32)
        try await fixture.add("handbook.md", Self.handbook, embedder: working)
        // Vectors of the same model exist, so the retriever does try to embed the question.
        let retriever = DocumentRetriever(store: fixture.store, embedder: FailingEmbedder(model: working.model))
        let hits = try await retriever.retrieve(query: "How many holiday days do employees get?", workspace: fixture.workspace)
        #expect(hits.first?.source.chunk.contains("25 days") == true)
        let searched = try await retriever.searchDocuments(query: "laptop encryption", workspaceId: fixture.workspace.id!,
                                                           ownerId: nil, limit: 3)
        #expect(searched.first?.heading == "Security")
        #expect(searched.first?.vectorScore == nil)
    }

    /// An embedder whose vectors the test chooses: each input gets the vector of the first key it contains.
    struct ScriptedEmbedder: Embedder {
        var vectors: [(key: String, vector: [Float])]
        var model: String { "scripted" }
        func embed(_ inputs: [String]) async throws -> [[Float]] {
            inputs.map { input in vectors.first { input.contains($0.key) }?.vector ?? [0, 0, 0, 1] }
        }
    }

    @Test func hybridRankingFusesLexicalAndVectorRanks() async throws {
        let fixture = try await DocumentFixture { $0.topN = 10; $0.similarityThreshold = 0.2 }
        // Query vector [1,0,0,0]. Lexical order: A (both words), B (one word); C has neither word.
        // Vector order: C (0.99), B (0.6), A (0.3).
        let embedder = ScriptedEmbedder(vectors: [
            ("QUERY", [1, 0, 0, 0]), ("alpha", [0.3, 0.954, 0, 0]), ("beta", [0.6, 0, 0.8, 0]), ("gamma", [0.99, 0, 0, 0.141]),
        ])
        try await fixture.add("a.txt", "alpha: the red kite nests here", mime: "text/plain", embedder: embedder)
        try await fixture.add("b.txt", "beta: a kite flies", mime: "text/plain", embedder: embedder)
        try await fixture.add("c.txt", "gamma: birds of prey", mime: "text/plain", embedder: embedder)
        let retriever = DocumentRetriever(store: fixture.store, embedder: embedder)
        func order(_ mode: DocumentRetriever.Mode) async throws -> [String] {
            try await retriever.search(query: "QUERY red kite", workspaceId: fixture.workspace.id!, limit: 10, threshold: 0.2, mode: mode)
                .map { String($0.text.prefix(while: { $0 != ":" })) }
        }
        // Beta's one word of three ("kite", the commonest) scores below the threshold on its own.
        #expect(try await order(.lexical) == ["alpha"])
        #expect(try await order(.vector) == ["gamma", "beta", "alpha"])
        // RRF: alpha 1/61+1/63 > beta 2/62 > gamma 1/61.
        #expect(try await order(.automatic) == ["alpha", "beta", "gamma"])
        let hits = try await retriever.search(query: "QUERY red kite", workspaceId: fixture.workspace.id!, limit: 10, threshold: 0.2)
        #expect(abs(hits[2].score - 0.99) < 0.01, "a vector-only hit reports its cosine")
        // "query" is in no passage and weighs most: alpha has the other two of three words.
        #expect(hits[0].lexicalScore.map { $0 > 0.3 && $0 < 0.6 } == true)
    }
}
