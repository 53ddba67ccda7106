import Foundation
import GRDB
import Testing

@testable import ChatBridge

@Suite("Chat search")
struct SearchTests {
    struct Fixture {
        let store: SQLiteStore
        let workspace: Workspace

        init() async throws {
            store = SQLiteStore(writer: try AppDatabase.inMemory())
            workspace = try await store.createWorkspace(Workspace(name: "Docs", slug: ""))
        }

        init(store: SQLiteStore, workspace: Workspace) {
            self.store = store
            self.workspace = workspace
        }

        @discardableResult
        func add(_ prompt: String, _ response: String = "", workspace: Workspace? = nil, thread: ChatThread? = nil,
                 user: User? = nil, status: Chat.Status = .completed, createdAt: Date = Timestamp.now()) async throws -> Chat {
            try await store.beginChat(Chat(
                workspaceId: (workspace ?? self.workspace).id!, threadId: thread?.id, userId: user?.id, prompt: prompt,
                response: response, status: status, createdAt: createdAt), dailyLimit: nil, now: Date())
        }

        func ids(_ text: String, field: SearchField = .both, viewer: Viewer = .singleUser,
                 configure: (inout ChatSearchQuery) -> Void = { _ in }) async throws -> [Int64] {
            var query = ChatSearchQuery(text: text, field: field, limit: 100)
            configure(&query)
            return try await store.search(query, viewer: viewer).hits.map { $0.entry.chat.id! }
        }
    }

    @Test func ranksByBM25BestFirstWithIdTieBreak() async throws {
        let f = try await Fixture()
        let weak = try await f.add("a long prompt about many things among which a kettle appears once in passing text")
        let strong = try await f.add("kettle kettle", "the kettle")
        let tieA = try await f.add("blue kettle")
        let tieB = try await f.add("blue kettle")
        try await f.add("nothing relevant here")
        let ids = try await f.ids("kettle")
        #expect(ids.first == strong.id)
        #expect(ids.last == weak.id)
        #expect(ids.count == 4)
        let tieIndexA = try #require(ids.firstIndex(of: tieA.id!))
        let tieIndexB = try #require(ids.firstIndex(of: tieB.id!))
        #expect(tieIndexA < tieIndexB)
        let hits = try await f.store.search(ChatSearchQuery(text: "kettle"), viewer: .singleUser).hits
        #expect(hits.map(\.score) == hits.map(\.score).sorted(by: >))
    }

    @Test func stemmingDiacriticsPhrasesPrefixesAndFields() async throws {
        let f = try await Fixture()
        let run = try await f.add("I was running home", "café au lait")
        let phrase = try await f.add("the quick brown fox", "jumps")
        let split = try await f.add("brown and quick fox", "")
        let prefix = try await f.add("configuration files", "reconfigure")
        #expect(try await f.ids("runs") == [run.id!])
        #expect(try await f.ids("cafe") == [run.id!])
        #expect(try await f.ids("CAFÉ") == [run.id!])
        #expect(try await Set(f.ids("quick brown")) == [phrase.id!, split.id!])
        #expect(try await f.ids("\"quick brown\"") == [phrase.id!])
        #expect(try await f.ids("config*") == [prefix.id!])
        #expect(try await f.ids("config").isEmpty)
        #expect(try await f.ids("cafe", field: .prompt).isEmpty)
        #expect(try await f.ids("cafe", field: .response) == [run.id!])
        #expect(try await f.ids("running", field: .response).isEmpty)
        #expect(try await f.ids("jumps fox", field: .both) == [phrase.id!])
    }

    @Test func snippetsMarkMatchesOnEachSide() async throws {
        let f = try await Fixture()
        try await f.add("How do I reset my password?", "To reset the password, open Settings and choose Reset.")
        let hit = try #require(try await f.store.search(ChatSearchQuery(text: "reset"), viewer: .singleUser).hits.first)
        #expect(hit.promptSnippet == "How do I <mark>reset</mark> my password?")
        #expect(hit.responseSnippet.contains("<mark>reset</mark> the password"))
        #expect(hit.responseSnippet.contains("<mark>Reset</mark>."))
        #expect(hit.entry.workspaceSlug == "docs")
        let long = String(repeating: "filler words go here ", count: 40) + "needle " + String(repeating: "more filler ", count: 40)
        try await f.add(long)
        let longHit = try #require(try await f.store.search(ChatSearchQuery(text: "needle"), viewer: .singleUser).hits.first)
        #expect(longHit.promptSnippet.contains("<mark>needle</mark>"))
        #expect(longHit.promptSnippet.hasPrefix("…") && longHit.promptSnippet.hasSuffix("…"))
        #expect(longHit.promptSnippet.count < 300)
    }

    @Test func snippetsMarkOnlyTheSideTheQuerySearched() async throws {
        let f = try await Fixture()
        try await f.add("the kettle boils", "a kettle sings")
        for (field, prompt, response) in [
            (SearchField.prompt, "the <mark>kettle</mark> boils", "a kettle sings"),
            (.response, "the kettle boils", "a <mark>kettle</mark> sings"),
            (.both, "the <mark>kettle</mark> boils", "a <mark>kettle</mark> sings"),
        ] {
            let hit = try #require(try await f.store.search(ChatSearchQuery(text: "kettle", field: field), viewer: .singleUser).hits.first)
            #expect(hit.promptSnippet == prompt, "in=\(field)")
            #expect(hit.responseSnippet == response, "in=\(field)")
        }
    }

    @Test func snippetsAreHTMLEscapedSoOnlyTheMarkersAreMarkup() async throws {
        let f = try await Fixture()
        try await f.add("<script>alert('x')</script> & <mark>fake</mark> \"reset\"", "a > b")
        let hit = try #require(try await f.store.search(ChatSearchQuery(text: "reset"), viewer: .singleUser).hits.first)
        #expect(hit.promptSnippet
            == "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &lt;mark&gt;fake&lt;/mark&gt; &quot;<mark>reset</mark>&quot;")
        #expect(hit.responseSnippet == "a &gt; b")
        #expect(hit.entry.chat.prompt.hasPrefix("<script>"), "the chat itself is returned as stored")
    }

    @Test func aDateOnlyUpperBoundIncludesThatWholeDay() async throws {
        let f = try await Fixture()
        let late = try await f.add("lantern at night", createdAt: try #require(Timestamp.date(from: "2026-01-31T23:59:59.999Z")))
        try await f.add("lantern next day", createdAt: try #require(Timestamp.date(from: "2026-02-01T00:00:00Z")))
        let to = try #require(Timestamp.endDate(from: "2026-01-31"))
        #expect(try await f.ids("lantern") { $0.to = to } == [late.id!])
        #expect(Timestamp.endDate(from: "2026-01-31T12:00:00Z") == Timestamp.date(from: "2026-01-31T12:00:00Z"))
    }

    @Test func onlyTheNewestMatchesAreRankedAndFiltersReachOlderOnes() async throws {
        let f = try await Fixture()
        let day = 86_400.0
        let start = Date(timeIntervalSince1970: 1_800_000_000)
        let oldBest = try await f.add("otter otter otter otter", createdAt: start)
        var newer: [Int64] = []
        for index in 1...6 {
            newer.append(try await f.add("otter and filler words number \(index)", createdAt: start.addingTimeInterval(Double(index) * day)).id!)
        }
        #expect(try await f.ids("otter").first == oldBest.id, "all seven are ranked by default")
        let capped = try await f.ids("otter") { $0.candidateLimit = 4 }
        #expect(Set(capped) == Set(newer.suffix(4)), "the four newest matches, best first")
        let older = try await f.ids("otter") {
            $0.candidateLimit = 4
            $0.to = start.addingTimeInterval(day)
        }
        #expect(older == [oldBest.id!, newer[0]], "a time filter narrows the candidates first")
    }

    @Test func theRankFunctionIsBM25GivenExactCountsAndCloseGivenEstimates() async throws {
        let f = try await Fixture()
        for index in 0..<40 {
            try await f.add("kettle \(index % 3 == 0 ? "blue kettle" : "red") words \(index)",
                            index % 4 == 0 ? "the kettle boils" : "nothing here \(String(repeating: "pad ", count: index))")
        }
        let match = "\"kettle\" AND \"blue\""
        let rows = try await f.store.writer.read { db -> [Row] in
            let kettle = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM workspace_chats_fts WHERE workspace_chats_fts MATCH 'kettle'")!
            let blue = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM workspace_chats_fts WHERE workspace_chats_fts MATCH 'blue'")!
            #expect((kettle, blue) == (40, 14))
            return try Row.fetchAll(db, sql: """
                SELECT bm25(workspace_chats_fts) AS expected,
                       agenthost_bm25(workspace_chats_fts, ?, 0, ?, 0) AS exact,
                       agenthost_bm25(workspace_chats_fts, 10, 10, 7, 20) AS estimated
                FROM workspace_chats_fts WHERE workspace_chats_fts MATCH ?
                """, arguments: [kettle, blue, match])
        }
        // The same with the text-column filter every search now puts on its phrases (the owner column is
        // empty here, so FTS5's bm25 over all columns is the reference).
        let filtered = try await f.store.writer.read { db -> [Row] in
            try Row.fetchAll(db, sql: """
                SELECT bm25(workspace_chats_fts) AS expected, agenthost_bm25(workspace_chats_fts, 40, 0, 14, 0) AS exact,
                       agenthost_bm25(workspace_chats_fts, 10, 10, 7, 20) AS estimated
                FROM workspace_chats_fts WHERE workspace_chats_fts MATCH ?
                """, arguments: [SearchQueryParser.matchExpression("kettle blue", columns: ["prompt", "response"])!])
        }
        #expect(filtered.count == 14)
        #expect(rows.count == 14)
        for row in rows + filtered {
            let expected: Double = row["expected"]
            let exact: Double = row["exact"]
            #expect(abs(exact - expected) < 1e-9, "\(exact) vs \(expected)")
            // Density estimates: kettle in 10 of the newest 10 ids (all 40 rows), blue in 7 of 20 (14 of 40).
            let estimated: Double = row["estimated"]
            #expect(abs(estimated - expected) < 1e-9, "\(estimated) vs \(expected)")
        }
        #expect(FTS5Ranking.documentFrequency(matches: 5, span: 0, rows: 100) == 5)
        #expect(FTS5Ranking.documentFrequency(matches: 2000, span: 4000, rows: 1_000_000) == 500_000)
        #expect(FTS5Ranking.documentFrequency(matches: 2000, span: 1000, rows: 1_000_000) == 1_000_000, "never more than every row")
    }

    static let hostile = [
        "\"", "\"\"", "\"unbalanced phrase", "unbalanced\" quote", "AND(", "AND", "OR", "NOT", "NEAR", "NEAR(a b, 2)",
        "a OR", "(", ")", "())", "-", "-password", "--", ":", "prompt:", "prompt: reset", "{prompt}: reset", "response:x",
        "*", "**", "reset**", "*reset", "^reset", "+", "a + b", "🙂", "🔥🔥 reset 🔥", "👩‍👩‍👧", "'; DROP TABLE workspace_chats; --",
        "SELECT * FROM users", "1=1", "\\", "\u{0}", "\t\n", "   ", "", "x\"y\"z", "\"a\" \"", "ünïcödé", "日本語", "الخطأ",
        String(repeating: "reset ", count: 500), String(repeating: "\"", count: 33), "NOT reset", "reset NOT", "a:b:c", "@", "#$%",
    ]

    @Test(arguments: hostile)
    func hostileQueriesAreTextNeverErrors(_ text: String) async throws {
        let f = try await Fixture()
        try await f.add("reset the password AND prompt: stuff", "response NEAR here OR not")
        for field in SearchField.allCases {
            _ = try await f.store.search(ChatSearchQuery(text: text, field: field), viewer: .singleUser)
        }
    }

    @Test func operatorsAreSearchedAsWords() async throws {
        let f = try await Fixture()
        let withOr = try await f.add("cats OR dogs")
        try await f.add("cats only")
        #expect(try await f.ids("cats OR dogs") == [withOr.id!])
        #expect(try await f.ids("cats: dogs") == [withOr.id!])
        #expect(try await f.ids("prompt: dogs").isEmpty)
        #expect(try await f.ids("-dogs") == [withOr.id!])
        #expect(try await f.ids("🙂").isEmpty)
        #expect(try await f.ids("\"cats OR").count == 1)
    }

    @Test func filtersAndOwnership() async throws {
        let f = try await Fixture()
        let alice = try await f.store.createUser(User(username: "alice", passwordHash: "x"))
        let bob = try await f.store.createUser(User(username: "bob", passwordHash: "x"))
        let other = try await f.store.createWorkspace(Workspace(name: "Other", slug: ""))
        let thread = try await f.store.createThread(workspaceId: f.workspace.id!, userId: alice.id, name: "T")
        let old = Date(timeIntervalSince1970: 1_700_000_000)
        let a1 = try await f.add("topic alpha", user: alice, createdAt: old)
        let a2 = try await f.add("topic beta", thread: thread, user: alice)
        let b1 = try await f.add("topic gamma", workspace: other, user: bob)
        try await f.add("topic streaming", user: alice, status: .streaming)
        let failed = try await f.add("topic failed", user: alice, status: .failed)

        let aliceViewer = Viewer(userId: alice.id, isAdmin: false)
        #expect(try await Set(f.ids("topic", viewer: aliceViewer)) == [a1.id!, a2.id!, failed.id!])
        // A user's filter for someone else is ignored: only admins choose the user.
        #expect(try await f.ids("topic", viewer: aliceViewer) { $0.userId = bob.id }.contains(b1.id!) == false)
        #expect(try await f.ids("topic", viewer: Viewer(userId: bob.id, isAdmin: false)) == [b1.id!])
        #expect(try await f.ids("topic").count == 4)
        #expect(try await f.ids("topic") { $0.userId = bob.id } == [b1.id!])
        #expect(try await f.ids("topic") { $0.workspaceId = other.id } == [b1.id!])
        #expect(try await f.ids("topic") { $0.threadId = thread.id } == [a2.id!])
        #expect(try await f.ids("topic") { $0.to = old.addingTimeInterval(1) } == [a1.id!])
        #expect(try await Set(f.ids("topic") { $0.from = old.addingTimeInterval(1) }) == [a2.id!, b1.id!, failed.id!])
    }

    @Test func indexFollowsInsertUpdateAndDelete() async throws {
        let f = try await Fixture()
        let chat = try await f.add("question about giraffes", "")
        #expect(try await f.ids("giraffes") == [chat.id!])
        try await f.store.finishChat(id: chat.id!, outcome: ChatOutcome(
            response: "Giraffes sleep standing up", status: .completed, usage: nil, model: nil))
        #expect(try await f.ids("sleep", field: .response) == [chat.id!])
        _ = try await f.store.setFeedback(chatId: chat.id!, feedback: true, viewer: .singleUser)
        #expect(try await f.ids("sleep") == [chat.id!])
        try await f.store.writer.write { db in
            try db.execute(sql: "UPDATE workspace_chats SET prompt = 'question about zebras' WHERE id = ?", arguments: [chat.id!])
        }
        #expect(try await f.ids("giraffes", field: .prompt).isEmpty)
        #expect(try await f.ids("zebras") == [chat.id!])
        _ = try await f.store.writer.write { db in try Chat.deleteOne(db, key: chat.id!) }
        #expect(try await f.ids("zebras").isEmpty)
        #expect(try await f.ids("sleep").isEmpty)
        let integrity = try await f.store.writer.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM workspace_chats_fts WHERE workspace_chats_fts MATCH 'sleep'").count
        }
        #expect(integrity == 0)
        try await f.store.writer.write { db in
            try db.execute(sql: "INSERT INTO workspace_chats_fts(workspace_chats_fts, rank) VALUES('integrity-check', 1)")
        }
    }

    @Test func migrationIndexesRowsAlreadyThere() async throws {
        let queue = try DatabaseQueue(configuration: AppDatabase.configuration(logger: nil))
        try AppDatabase.migrator.migrate(queue, upTo: "v2_workspace_notes")
        let store = SQLiteStore(writer: queue)
        // Written with the columns of that schema: the current `Workspace` record has columns added later.
        let workspaceId = try await queue.write { db in
            try db.execute(sql: """
                INSERT INTO workspaces (name, slug, query_refusal_response, created_at, updated_at)
                VALUES ('Docs', 'docs', 'none', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)
                """)
            return db.lastInsertedRowID
        }
        let chat = try await store.beginChat(Chat(workspaceId: workspaceId, threadId: nil, userId: nil, prompt: "legacy walrus",
                                                  status: .completed), dailyLimit: nil, now: Date())
        try AppDatabase.migrate(queue)
        let hits = try await store.search(ChatSearchQuery(text: "walrus"), viewer: .singleUser).hits
        #expect(hits.map { $0.entry.chat.id } == [chat.id])
    }

    @Test func pagesNeitherRepeatNorSkip() async throws {
        let f = try await Fixture()
        var expected: Set<Int64> = []
        for index in 0..<57 {
            // Several groups of equal score, so the id tie-break matters.
            let chat = try await f.add(String(repeating: "lamp ", count: index % 4 + 1) + "filler \(index % 3)")
            expected.insert(chat.id!)
        }
        var seen: [Int64] = []
        var after: SearchPosition?
        var pages = 0
        repeat {
            let page = try await f.store.search(ChatSearchQuery(text: "lamp", limit: 10, after: after), viewer: .singleUser)
            seen += page.hits.map { $0.entry.chat.id! }
            after = page.next
            pages += 1
            try await f.add("lamp lamp lamp lamp")  // newer chats never shift the pages
        } while after != nil && pages < 20  // bounded: a cursor bug must fail, not hang
        #expect(pages == 6)
        #expect(seen.count == 57)
        #expect(Set(seen) == expected)
        let all = try await f.store.search(ChatSearchQuery(text: "lamp", limit: 100, after: nil), viewer: .singleUser)
        #expect(Array(all.hits.map { $0.entry.chat.id! }.filter(expected.contains)) == seen)
    }

    /// Writes `count` chats in one transaction: owners alice, bob, bob, none in turn; some streaming and
    /// failed; prompts that make common words, a phrase and a prefix.
    static func addMany(_ f: Fixture, count: Int, owners: [Int64?]) async throws {
        let prompts = ["kettle", "kettle kettle", "kettle harbour", "kettle lamp lamp", "kettle kettle kettle lamp"]
        try await f.store.writer.write { db in
            for index in 0..<count {
                let status = index % 97 == 0 ? "streaming" : (index % 13 == 0 ? "failed" : "completed")
                try db.execute(sql: """
                    INSERT INTO workspace_chats (chat_uuid, workspace_id, user_id, prompt, response, status, created_at, updated_at)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                    """, arguments: [UUID().uuidString, f.workspace.id!, owners[index % owners.count], prompts[index % 5] + " number \(index)",
                                     "kettle reply \(index % 7) <b>", status, Date(), Date()])
            }
        }
    }

    /// What a search restricted to `owner` must return, computed without any owner plan: every hit of an
    /// administrator's unfiltered search (ranks do not depend on filters: the phrase counts come from
    /// every chat), kept when it is the owner's, cut to the newest `candidateLimit`, in rank order.
    static func expectedPages(_ f: Fixture, _ query: ChatSearchQuery, owner: Int64) async throws -> [[ChatSearchHit]] {
        var everything = ChatSearchQuery(text: query.text, field: query.field, limit: 100_000)
        everything.candidateLimit = 100_000
        let all = try await f.store.search(everything, viewer: .singleUser).hits
        let candidates = all.filter { $0.entry.chat.userId == owner && $0.entry.chat.status != .streaming }
            .sorted { $0.entry.chat.id! > $1.entry.chat.id! }
            .prefix(query.candidateLimit)
            .sorted { $0.rank != $1.rank ? $0.rank < $1.rank : $0.entry.chat.id! < $1.entry.chat.id! }
        return stride(from: 0, to: candidates.count, by: query.limit).map { Array(candidates[$0..<min($0 + query.limit, candidates.count)]) }
    }

    /// A user's search (or an administrator's `user_id` filter) finds the owner through the owner token in
    /// the index: over `frequencyWalk` matches and under it, for words, two words, a prefix and a phrase,
    /// every page through the cursor has the hits, ranks, snippets and rows that filtering an unfiltered
    /// search gives, and the same with another filter (workspace) read from the rows.
    @Test func aUsersSearchGivesWhatFilteringEveryHitGave() async throws {
        let f = try await Fixture()
        let alice = try await f.store.createUser(User(username: "alice", passwordHash: "x"))
        let bob = try await f.store.createUser(User(username: "bob", passwordHash: "x"))
        let chats = 2_400
        #expect(chats > ChatSearchQuery.frequencyWalk)
        try await Self.addMany(f, count: chats, owners: [alice.id, bob.id, bob.id, nil])
        let cases: [(Viewer, Int64?, Int64)] = [
            (Viewer(userId: alice.id, isAdmin: false), nil, alice.id!), (Viewer(userId: bob.id, isAdmin: false), bob.id, bob.id!),
            (.singleUser, alice.id, alice.id!),
        ]
        for (viewer, userId, owner) in cases {
            for text in ["kettle", "kettle reply", "kett*", "\"kettle reply\"", "harbour", "lamp number"] {
                for candidateLimit in [ChatSearchQuery.rankedCandidates, 300] {
                    for workspaceFilter in [false, true] {
                        var query = ChatSearchQuery(text: text, userId: userId, limit: 150)
                        query.candidateLimit = candidateLimit
                        if workspaceFilter { query.workspaceId = f.workspace.id }
                        let expected = try await Self.expectedPages(f, query, owner: owner)
                        var pages = 0
                        repeat {
                            let page = try await f.store.search(query, viewer: viewer)
                            let label = "\(text), limit \(candidateLimit), workspace \(workspaceFilter), page \(pages)"
                            try #require(pages < expected.count, "\(label): more pages than expected")
                            #expect(page.hits == expected[pages], "\(label)")
                            #expect((page.next == nil) == (pages == expected.count - 1), "\(label)")
                            query.after = page.next
                            pages += 1
                        } while query.after != nil && pages < 30  // bounded: a cursor bug must fail, not hang
                        #expect(pages == max(1, expected.count), "\(text)")
                        #expect(!expected.isEmpty, "\(text)")
                    }
                }
            }
        }
    }

    /// The first page of a one-phrase search without filters ranks in Swift the rows of its one walk; it
    /// must equal, bit for bit, the page the rank function gives in SQL after a separate frequency walk
    /// (which a cursor at offset 0 still takes): over and under `frequencyWalk` matches, a word, a prefix
    /// and a quoted phrase, candidate limits under, at and over the walk, streaming chats left out.
    @Test func aOneWalkFirstPageEqualsTheTwoWalkPage() async throws {
        let f = try await Fixture()
        let alice = try await f.store.createUser(User(username: "alice", passwordHash: "x"))
        try await Self.addMany(f, count: 2_400, owners: [alice.id, nil])
        let newest = try #require(try await f.store.writer.read { db in try Int64.fetchOne(db, sql: "SELECT MAX(id) FROM workspace_chats") })
        for text in ["kettle", "harbour", "kett*", "\"kettle reply\"", "\"reply 3\"", "number"] {
            for candidateLimit in [300, ChatSearchQuery.rankedCandidates, 2_300] {
                for field in [SearchField.both, .prompt] {
                    var query = ChatSearchQuery(text: text, field: field, limit: 40)
                    query.candidateLimit = candidateLimit
                    var reference = query
                    reference.after = SearchPosition(offset: 0, maxId: newest)
                    let page = try await f.store.search(query, viewer: .singleUser)
                    let expected = try await f.store.search(reference, viewer: .singleUser)
                    #expect(page == expected, "\(text), limit \(candidateLimit), \(field)")
                    #expect(field == .prompt || !page.hits.isEmpty, "\(text)")
                    #expect(page.hits.allSatisfy { $0.entry.chat.status != .streaming })
                }
            }
        }
    }

    /// The owner column holds ids, not words: searching a number finds chats that say it, not every chat
    /// of the user with that id; an owner change (a deleted user's chats lose theirs) moves the token.
    @Test func theOwnerTokenIsNoWordAndFollowsOwnerChanges() async throws {
        let f = try await Fixture()
        let alice = try await f.store.createUser(User(username: "alice", passwordHash: "x"))
        let bob = try await f.store.createUser(User(username: "bob", passwordHash: "x"))
        let number = "\(bob.id!)"
        let saysIt = try await f.add("order \(number) shipped", user: alice)
        let bobs = try await f.add("order shipped", user: bob)
        #expect(try await f.ids(number) == [saysIt.id!])
        #expect(try await f.ids(number, viewer: Viewer(userId: bob.id, isAdmin: false)).isEmpty)
        #expect(try await f.ids("order", viewer: Viewer(userId: bob.id, isAdmin: false)) == [bobs.id!])
        #expect(try await f.ids("order") { $0.userId = bob.id } == [bobs.id!])
        try await f.store.writer.write { db in
            try db.execute(sql: "UPDATE workspace_chats SET user_id = ? WHERE id = ?", arguments: [alice.id!, bobs.id!])
        }
        #expect(try await Set(f.ids("order", viewer: Viewer(userId: alice.id, isAdmin: false))) == [saysIt.id!, bobs.id!])
        #expect(try await f.ids("order") { $0.userId = bob.id }.isEmpty)
        _ = try await f.store.writer.write { db in try User.deleteOne(db, key: alice.id!) }
        #expect(try await f.ids("order") { $0.userId = alice.id }.isEmpty)
        #expect(try await f.ids("order").count == 2)
        let owners = try await f.store.writer.read { db in
            try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM workspace_chats_fts WHERE workspace_chats_fts MATCH ?",
                             arguments: ["user_id : \"\(alice.id!)\""])
        }
        #expect(owners == 0)
        try await f.store.writer.write { db in
            try db.execute(sql: "INSERT INTO workspace_chats_fts(workspace_chats_fts, rank) VALUES('integrity-check', 1)")
        }
    }

    /// A database from before `search_v3_owner_tokens` migrates: an administrator's searches give the same
    /// pages (hits, ranks, snippets) before and after, users' searches give what filtering them gives, and
    /// the rebuilt index passes FTS5's integrity check and follows new chats.
    @Test func theOwnerTokenMigrationKeepsEveryResult() async throws {
        let queue = try DatabaseQueue(configuration: AppDatabase.configuration(logger: nil))
        try AppDatabase.migrator.migrate(queue, upTo: "documents_v2_chunk_counts")
        let store = SQLiteStore(writer: queue)
        let workspace = try await store.createWorkspace(Workspace(name: "Docs", slug: ""))
        let f = Fixture(store: store, workspace: workspace)
        let alice = try await store.createUser(User(username: "alice", passwordHash: "x"))
        let bob = try await store.createUser(User(username: "bob", passwordHash: "x"))
        try await Self.addMany(f, count: 2_100, owners: [alice.id, bob.id, bob.id, nil])
        let texts = ["kettle", "kettle reply", "kett*", "\"kettle reply\"", "harbour", "lamp number"]
        func adminPages() async throws -> [[ChatSearchPage]] {
            var all: [[ChatSearchPage]] = []
            for text in texts {
                var query = ChatSearchQuery(text: text, limit: 400)
                var pages: [ChatSearchPage] = []
                repeat {
                    let page = try await store.search(query, viewer: .singleUser)
                    pages.append(page)
                    query.after = page.next
                } while query.after != nil && pages.count < 30
                all.append(pages)
            }
            return all
        }
        let before = try await adminPages()
        #expect(try AppDatabase.pendingMigrations(queue).first == "search_v3_owner_tokens")
        try AppDatabase.migrator.migrate(queue, upTo: "search_v3_owner_tokens")
        let after = try await adminPages()
        #expect(after == before)
        #expect(before.allSatisfy { !$0.isEmpty && !$0[0].hits.isEmpty })
        for (viewer, owner) in [(Viewer(userId: bob.id, isAdmin: false), bob.id!), (Viewer(userId: alice.id, isAdmin: false), alice.id!)] {
            for text in texts {
                let query = ChatSearchQuery(text: text, limit: 5_000)
                let expected = try await Self.expectedPages(f, query, owner: owner)
                #expect(try await store.search(query, viewer: viewer).hits == (expected.first ?? []), "\(text)")
            }
        }
        try await queue.write { db in
            try db.execute(sql: "INSERT INTO workspace_chats_fts(workspace_chats_fts, rank) VALUES('integrity-check', 1)")
        }
        let newer = try await f.add("kettle walrus", user: bob)
        #expect(try await f.ids("walrus", viewer: Viewer(userId: bob.id, isAdmin: false)) == [newer.id!])
        #expect(try await f.ids("walrus", viewer: Viewer(userId: alice.id, isAdmin: false)).isEmpty)
    }

    /// Chats enter the index when they stop streaming, once: a streaming chat's prompt is not indexed
    /// (search leaves it out anyway), its finish indexes prompt and answer, and deleting a chat, streaming
    /// or not, takes out exactly what was indexed. A database whose old triggers indexed a streaming
    /// chat migrates to the same state. FTS5's integrity check passes at every step.
    @Test func chatsEnterTheIndexWhenTheyFinish() async throws {
        let queue = try DatabaseQueue(configuration: AppDatabase.configuration(logger: nil))
        try AppDatabase.migrator.migrate(queue, upTo: "search_v3_owner_tokens")
        let store = SQLiteStore(writer: queue)
        let f = Fixture(store: store, workspace: try await store.createWorkspace(Workspace(name: "Docs", slug: "")))
        func indexed(_ word: String) async throws -> Int {
            try await queue.read { db in
                try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM workspace_chats_fts WHERE workspace_chats_fts MATCH ?",
                                 arguments: [word]) ?? -1
            }
        }
        func checkIntegrity() async throws {
            try await queue.write { db in
                try db.execute(sql: "INSERT INTO workspace_chats_fts(workspace_chats_fts, rank) VALUES('integrity-check', 1)")
            }
        }
        let leftover = try await f.add("walrus before the upgrade", status: .streaming)
        let finished = try await f.add("walrus finished before", "an answer")
        #expect(try await indexed("walrus") == 2)
        try AppDatabase.migrate(queue)
        try await checkIntegrity()
        #expect(try await indexed("walrus") == 1)

        let streaming = try await f.add("narwhal question", status: .streaming)
        #expect(try await indexed("narwhal") == 0)
        try await store.finishChat(id: streaming.id!, outcome: ChatOutcome(
            response: "narwhal tusk answer", status: .completed, usage: nil, model: "m"))
        try await checkIntegrity()
        #expect(try await indexed("narwhal") == 1)
        #expect(try await indexed("tusk") == 1)
        #expect(try await f.ids("narwhal") == [streaming.id!])
        // A repair ends the leftover as interrupted: it enters the index then, with its partial answer.
        try await store.finishChat(id: leftover.id!, outcome: ChatOutcome(
            response: "cut short", status: .interrupted, usage: nil, model: "m"))
        #expect(try await f.ids("walrus").sorted() == [leftover.id!, finished.id!].sorted())

        let abandoned = try await f.add("narwhal abandoned", status: .streaming)
        try await queue.write { db in
            try db.execute(sql: "DELETE FROM workspace_chats WHERE id IN (?, ?)", arguments: [abandoned.id!, finished.id!])
        }
        try await checkIntegrity()
        #expect(try await indexed("narwhal") == 1)
        #expect(try await f.ids("walrus") == [leftover.id!])
    }
}
