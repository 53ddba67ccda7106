import ChatBridge
import Foundation
import Testing

@testable import ChatBridge

extension PostgresBacked {
    /// Every store protocol method, checked the same way against SQLite and PostgreSQL.
    @Suite("Store conformance")
    struct StoreConformance {
        static let alice = Viewer(userId: 1, isAdmin: false)

        @Test(arguments: Backend.allCases)
        func accountsAndAPIKeys(backend: Backend) async throws {
            try await backend.withStorage { storage in
                let accounts = storage.accounts
                #expect(try await accounts.hasUsers() == false)
                let alice = try await accounts.createUser(User(username: "Alice", passwordHash: "h", role: .admin, dailyMessageLimit: 3))
                let aliceId = try #require(alice.id)
                #expect(try await accounts.hasUsers())
                await #expect(throws: APIError.self) { _ = try await accounts.createUser(User(username: "alice", passwordHash: "x")) }
                #expect(try await accounts.user(id: aliceId)?.username == "Alice")
                #expect(try await accounts.user(username: "ALICE")?.id == aliceId)
                #expect(try await accounts.user(username: "nobody") == nil)
                let bob = try await accounts.createUser(User(username: "bob", passwordHash: "h"))
                #expect(try await accounts.users().map(\.username) == ["Alice", "bob"])
                var changed = bob
                changed.suspended = true
                changed.dailyMessageLimit = 9
                _ = try await accounts.updateUser(changed)
                let reread = try #require(try await accounts.user(id: bob.id!))
                #expect(reread.suspended && reread.dailyMessageLimit == 9 && reread.role == .default)

                let key = try await accounts.createAPIKey(APIKey(name: "ci", prefix: "ak_1", secretHash: "hash-1", userId: aliceId))
                #expect(key.id != nil && key.lastUsedAt == nil)
                let now = Timestamp.now()
                let used = try #require(try await accounts.activeAPIKey(secretHash: "hash-1", now: now))
                #expect(used.id == key.id && used.lastUsedAt == now)
                #expect(try await accounts.activeAPIKey(secretHash: "unknown", now: now) == nil)
                #expect(try await accounts.apiKeys().map(\.name) == ["ci"])
                #expect(try await accounts.revokeAPIKey(id: key.id!, now: now))
                #expect(try await accounts.revokeAPIKey(id: key.id!, now: now) == false)
                #expect(try await accounts.activeAPIKey(secretHash: "hash-1", now: now) == nil)
            }
        }

        @Test(arguments: Backend.allCases)
        func workspacesAndThreads(backend: Backend) async throws {
            try await backend.withStorage { storage in
                let chats = storage.chats
                let alice = try await storage.accounts.createUser(User(username: "alice", passwordHash: "h"))
                let bob = try await storage.accounts.createUser(User(username: "bob", passwordHash: "h"))
                let first = try await chats.createWorkspace(Workspace(name: "My Space", slug: ""))
                let second = try await chats.createWorkspace(Workspace(name: "My Space", slug: ""))
                #expect(first.slug == "my-space" && second.slug == "my-space-2")
                #expect(try await chats.workspaces().map(\.slug) == ["my-space", "my-space-2"])
                var updated = try #require(try await chats.workspace(slug: "my-space-2"))
                updated.systemPrompt = "Be brief."
                updated.toolCalling = .prompted
                updated.agentTools = ["calculator"]
                _ = try await chats.updateWorkspace(updated)
                let reread = try #require(try await chats.workspace(slug: "my-space-2"))
                #expect(reread.systemPrompt == "Be brief." && reread.toolCalling == .prompted && reread.agentTools == ["calculator"])
                #expect(try await chats.workspace(slug: "none") == nil)

                let mine = try await chats.createThread(workspaceId: first.id!, userId: alice.id, name: "Plans")
                let again = try await chats.createThread(workspaceId: first.id!, userId: alice.id, name: "Plans")
                let theirs = try await chats.createThread(workspaceId: first.id!, userId: bob.id, name: "Other")
                #expect(mine.slug == "plans" && again.slug == "plans-2")
                let aliceViewer = Viewer(userId: alice.id, isAdmin: false)
                #expect(try await chats.threads(workspaceId: first.id!, viewer: aliceViewer).map(\.slug) == ["plans", "plans-2"])
                #expect(try await chats.threads(workspaceId: first.id!, viewer: .singleUser).count == 3)
                #expect(try await chats.thread(workspaceId: first.id!, slug: theirs.slug, viewer: aliceViewer) == nil)
                #expect(try await chats.thread(workspaceId: first.id!, slug: "plans", viewer: aliceViewer)?.id == mine.id)
            }
        }

        @Test(arguments: Backend.allCases)
        func chatsHistoryContextAndFlags(backend: Backend) async throws {
            try await backend.withStorage { storage in
                let chats = storage.chats
                let alice = try await storage.accounts.createUser(User(username: "alice", passwordHash: "h"))
                let bob = try await storage.accounts.createUser(User(username: "bob", passwordHash: "h"))
                let viewer = Viewer(userId: alice.id, isAdmin: false)
                let workspace = try await chats.createWorkspace(Workspace(name: "W", slug: ""))
                let thread = try await chats.createThread(workspaceId: workspace.id!, userId: alice.id, name: "T")
                var ids: [Int64] = []
                for index in 0..<5 {
                    let chat = try await chats.beginChat(
                        Chat(workspaceId: workspace.id!, threadId: index < 4 ? nil : thread.id, userId: alice.id, prompt: "q\(index)",
                             sources: [], attachments: [AttachmentInfo(name: "a.txt", mime: "text/plain", size: 3)],
                             apiSessionId: "s1", mode: .query),
                        dailyLimit: nil, now: Date())
                    ids.append(try #require(chat.id))
                    if index < 3 {
                        try await chats.finishChat(id: chat.id!, outcome: ChatOutcome(
                            response: "a\(index)", status: .completed, usage: Usage(promptTokens: 3, completionTokens: 4), model: "m",
                            sources: [ChatSource(title: "Doc", chunk: "c", score: 0.5, documentId: 7)]))
                    }
                }
                _ = try await chats.beginChat(Chat(workspaceId: workspace.id!, threadId: nil, userId: bob.id, prompt: "bob's"),
                                              dailyLimit: nil, now: Date())
                let entry = try #require(try await chats.chat(id: ids[0], viewer: viewer))
                #expect(entry.chat.response == "a0" && entry.chat.status == .completed && entry.chat.promptTokens == 3)
                #expect(entry.chat.sources.first?.documentId == 7 && entry.chat.attachments.first?.name == "a.txt")
                #expect(entry.chat.mode == .query && entry.chat.apiSessionId == "s1" && entry.workspaceSlug == "w")
                #expect(try await chats.chat(id: ids[0], viewer: Viewer(userId: bob.id, isAdmin: false)) == nil)

                let page = try await chats.chats(ChatListQuery(workspaceId: workspace.id, limit: 2), viewer: viewer)
                #expect(page.chats.map(\.chat.id) == [ids[4], ids[3]] && page.nextBeforeId == ids[3])
                let rest = try await chats.chats(ChatListQuery(workspaceId: workspace.id, limit: 10, beforeId: page.nextBeforeId),
                                                 viewer: viewer)
                #expect(rest.chats.map(\.chat.id) == [ids[2], ids[1], ids[0]] && rest.nextBeforeId == nil)
                #expect(try await chats.chats(ChatListQuery(limit: 50), viewer: .singleUser).chats.count == 6)
                #expect(try await chats.chats(ChatListQuery(threadId: thread.id, limit: 50), viewer: viewer).chats.map(\.threadSlug) == ["t"])
                #expect(try await chats.chats(ChatListQuery(sessionId: "s1", limit: 50), viewer: viewer).chats.count == 5)

                // History: the default thread, finished chats only, oldest first.
                let history = try await chats.history(HistoryQuery(workspaceId: workspace.id!, threadId: nil), viewer: viewer)
                #expect(history.map(\.chat.prompt) == ["q0", "q1", "q2"])
                _ = try await chats.setInclude(chatId: ids[1], include: false, viewer: viewer)
                #expect(try await chats.history(HistoryQuery(workspaceId: workspace.id!, threadId: nil), viewer: viewer).count == 2)
                #expect(try await chats.history(HistoryQuery(workspaceId: workspace.id!, threadId: nil, includeExcluded: true),
                                                viewer: viewer).count == 3)
                let feedback = try await chats.setFeedback(chatId: ids[2], feedback: true, viewer: viewer)
                #expect(feedback.chat.feedback == true)
                await #expect(throws: APIError.self) {
                    _ = try await chats.setFeedback(chatId: ids[2], feedback: false, viewer: Viewer(userId: bob.id, isAdmin: false))
                }
                let conversation = Conversation(workspaceId: workspace.id!, threadId: nil, userId: alice.id, sessionId: "s1")
                #expect(try await chats.contextWindow(conversation, limit: 5) == [
                    ContextTurn(prompt: "q0", response: "a0"), ContextTurn(prompt: "q2", response: "a2"),
                ])
                #expect(try await chats.contextWindow(conversation, limit: 1) == [ContextTurn(prompt: "q2", response: "a2")])
                #expect(try await chats.resetContext(workspaceId: workspace.id!, threadId: nil, viewer: viewer) == 3)
                #expect(try await chats.contextWindow(conversation, limit: 5).isEmpty)

                #expect(try await chats.searchChats(workspaceId: workspace.id!, text: "A2", viewer: viewer, limit: 10).map(\.id) == [ids[2]])
                #expect(try await chats.searchChats(workspaceId: workspace.id!, text: "q%", viewer: viewer, limit: 10).isEmpty)

                let welcome = try await chats.addWelcomeMessage(WelcomeMessage(userId: nil, userMessage: "hi", response: "hello", orderIndex: 1))
                _ = try await chats.addWelcomeMessage(WelcomeMessage(userId: alice.id, userMessage: nil, response: "yours", orderIndex: 0))
                #expect(welcome.id != nil)
                #expect(try await chats.welcomeMessages(forUserId: nil).map(\.response) == ["hello"])
                #expect(try await chats.welcomeMessages(forUserId: alice.id).map(\.response) == ["yours", "hello"])
                try await chats.record(EventLog(event: "sent_chat", workspaceId: workspace.id, userId: alice.id, chatId: ids[0],
                                                metadata: ["model": "m"]))
            }
        }

        @Test(arguments: Backend.allCases)
        func dailyLimitCountsTodaysPrompts(backend: Backend) async throws {
            try await backend.withStorage { storage in
                let user = try await storage.accounts.createUser(User(username: "u", passwordHash: "h", dailyMessageLimit: 2))
                let workspace = try await storage.chats.createWorkspace(Workspace(name: "W", slug: ""))
                let now = Date()
                for _ in 0..<2 {
                    _ = try await storage.chats.beginChat(Chat(workspaceId: workspace.id!, threadId: nil, userId: user.id, prompt: "p"),
                                                          dailyLimit: 2, now: now)
                }
                do {
                    _ = try await storage.chats.beginChat(Chat(workspaceId: workspace.id!, threadId: nil, userId: user.id, prompt: "p"),
                                                          dailyLimit: 2, now: now)
                    Issue.record("a third chat was admitted over a limit of 2")
                } catch let error as APIError {
                    #expect(error.code == .rateLimited)
                }
                // Tomorrow counts afresh.
                _ = try await storage.chats.beginChat(Chat(workspaceId: workspace.id!, threadId: nil, userId: user.id, prompt: "p"),
                                                      dailyLimit: 2, now: now.addingTimeInterval(86_400))
            }
        }

        @Test(arguments: Backend.allCases)
        func notesAndInvocations(backend: Backend) async throws {
            try await backend.withStorage { storage in
                let alice = try await storage.accounts.createUser(User(username: "alice", passwordHash: "h"))
                let viewer = Viewer(userId: alice.id, isAdmin: false)
                let workspace = try await storage.chats.createWorkspace(Workspace(name: "W", slug: ""))
                let note = try await storage.notes.addNote(WorkspaceNote(workspaceId: workspace.id!, userId: alice.id, title: "t", content: "c"))
                _ = try await storage.notes.addNote(WorkspaceNote(workspaceId: workspace.id!, userId: nil, title: "shared", content: "c"))
                #expect(try await storage.notes.notes(workspaceId: workspace.id!, viewer: viewer).map(\.title) == ["t"])
                #expect(try await storage.notes.notes(workspaceId: workspace.id!, viewer: .singleUser).map(\.title) == ["shared"])
                #expect(try await storage.notes.deleteNote(id: note.id!, workspaceId: workspace.id!, viewer: .singleUser) == false)
                #expect(try await storage.notes.deleteNote(id: note.id!, workspaceId: workspace.id!, viewer: viewer))
                #expect(try await storage.notes.notes(workspaceId: workspace.id!, viewer: viewer).isEmpty)

                let id = UUID().uuidString.lowercased()
                var invocation = AgentInvocation(id: id, workspaceId: workspace.id!, threadId: nil, userId: alice.id, requestId: "r",
                                                 message: "go", maxSteps: 4, clientTools: ["read_file"])
                try await storage.invocations.createInvocation(invocation)
                try await storage.invocations.recordStep(AgentStep(invocationId: id, step: 1, kind: .llm, text: "thinking",
                                                                   toolCalls: [["id": "c1"]], promptTokens: 5, completionTokens: 6,
                                                                   startedAt: Timestamp.now(), durationMs: 12.5))
                try await storage.invocations.recordStep(AgentStep(invocationId: id, step: 1, kind: .tool, callId: "c1", name: "read_file",
                                                                   executor: "client", arguments: ["path": "a"], output: ["ok": true],
                                                                   isError: false, startedAt: Timestamp.now(), durationMs: 3))
                invocation.status = .completed
                invocation.response = "done"
                invocation.steps = 1
                invocation.finishedAt = Timestamp.now()
                try await storage.invocations.finishInvocation(invocation)
                let (stored, steps) = try #require(try await storage.invocations.invocation(id: id, viewer: viewer))
                #expect(stored.status == .completed && stored.response == "done" && stored.steps == 1 && stored.maxSteps == 4)
                #expect(stored.clientTools == ["read_file"] && stored.requestId == "r" && stored.userId == alice.id)
                #expect(abs(try #require(stored.finishedAt).timeIntervalSince(invocation.finishedAt!)) < 0.001)
                #expect(steps.map(\.kind) == [.llm, .tool] && steps[1].isError == false && steps[1].output == ["ok": true])
                #expect(steps[0].toolCalls == [["id": "c1"]] && steps[0].durationMs == 12.5)
                #expect(try await storage.invocations.invocation(id: id, viewer: Viewer(userId: 99, isAdmin: false)) == nil)
            }
        }

        /// Agent steps stored with a run-log batch (as the engine records them) and one by one
        /// (`recordStep`) come back alike, in the order written, every column intact.
        @Test(arguments: Backend.allCases)
        func agentStepsInRunLogBatches(backend: Backend) async throws {
            try await backend.withStorage { storage in
                let workspace = try await storage.chats.createWorkspace(Workspace(name: "W", slug: ""))
                let id = UUID().uuidString.lowercased()
                try await storage.invocations.createInvocation(AgentInvocation(
                    id: id, workspaceId: workspace.id!, threadId: nil, userId: nil, requestId: nil, message: "go", maxSteps: 4,
                    clientTools: []))
                let started = Date(timeIntervalSince1970: 1_764_000_000.123)
                let model = AgentStep(invocationId: id, step: 1, kind: .llm, text: "Let me \"look\"\n✓",
                                      toolCalls: [["id": "c1", "name": "calculator", "arguments": #"{"expression":"1+1"}"#]],
                                      promptTokens: 12, completionTokens: 3, startedAt: started, durationMs: 0.25)
                let failed = AgentStep(invocationId: id, step: 1, kind: .tool, callId: "c1", name: "calculator", executor: "server",
                                       arguments: ["expression": "1+1", "nested": [1, 2.5, nil, true]], output: ["error": "no"],
                                       isError: true, startedAt: started.addingTimeInterval(0.5), durationMs: 1.5)
                // A tool step of an unknown tool: no executor, the raw arguments as a JSON string, no duration.
                let bare = AgentStep(invocationId: id, step: 2, kind: .tool, callId: "c2", name: "nope",
                                     arguments: .string("{not json"), output: .null, isError: false, startedAt: started,
                                     durationMs: nil)
                var batch = RunLogBatch()
                batch.started = [RunRecord(id: id, kind: .agent, workspaceId: workspace.id!, userId: nil)]
                batch.frames = [(id, [RunFrame(seq: 0, type: "agent_start", json: "{}")])]
                batch.steps = [model, failed]
                #expect(!batch.isEmpty)
                try await storage.runLog.write(batch)
                var stepsOnly = RunLogBatch()
                stepsOnly.steps = [bare]
                #expect(!stepsOnly.isEmpty, "a batch of steps alone is written")
                try await storage.runLog.write(stepsOnly)
                let last = AgentStep(invocationId: id, step: 2, kind: .llm, text: "2", startedAt: started, durationMs: 4)
                try await storage.invocations.recordStep(last)

                let (_, steps) = try #require(try await storage.invocations.invocation(id: id, viewer: .singleUser))
                let written = [model, failed, bare, last]
                try #require(steps.count == written.count)
                let ids = steps.compactMap(\.id)
                #expect(ids == ids.sorted() && Set(ids).count == written.count, "ids follow the order written")
                for (stored, expected) in zip(steps, written) {
                    var same = stored
                    same.id = nil
                    same.startedAt = expected.startedAt
                    #expect(same == expected)
                    #expect(abs(stored.startedAt.timeIntervalSince(expected.startedAt)) < 0.001)
                }
                #expect(try await storage.runLog.frames(ofRun: id, after: -1, limit: 10).map(\.type) == ["agent_start"])
            }
        }

        /// The list of runs (the console's runs view) and a thread's latest run (AG-UI continues it).
        @Test(arguments: Backend.allCases)
        func invocationListAndLatestInThread(backend: Backend) async throws {
            try await backend.withStorage { storage in
                let alice = try await storage.accounts.createUser(User(username: "alice", passwordHash: "h"))
                let bob = try await storage.accounts.createUser(User(username: "bob", passwordHash: "h"))
                let workspace = try await storage.chats.createWorkspace(Workspace(name: "W", slug: ""))
                let thread = try await storage.chats.createThread(workspaceId: workspace.id!, userId: alice.id, name: "T")
                var ids: [String] = []
                for index in 0..<5 {
                    var invocation = AgentInvocation(
                        id: "run-\(index)", workspaceId: workspace.id!, threadId: index < 3 ? thread.id : nil,
                        userId: index == 4 ? bob.id : alice.id, requestId: nil, message: "m\(index)", maxSteps: 4, clientTools: [])
                    invocation.createdAt = Date(timeIntervalSince1970: 1_700_000_000 + Double(index))
                    try await storage.invocations.createInvocation(invocation)
                    ids.append(invocation.id)
                }
                let aliceViewer = Viewer(userId: alice.id, isAdmin: false)
                // Newest first, owner-scoped, paged by the keyset cursor without gaps or repeats.
                var seen: [String] = []
                var before: InvocationListPosition?
                for _ in 0..<5 {
                    let page = try await storage.invocations.invocations(InvocationListQuery(limit: 2, before: before), viewer: aliceViewer)
                    seen += page.invocations.map(\.invocation.id)
                    #expect(page.invocations.allSatisfy { $0.workspaceSlug == workspace.slug })
                    guard let next = page.next else { break }
                    before = next
                }
                #expect(seen == ["run-3", "run-2", "run-1", "run-0"])
                let inThread = try await storage.invocations.invocations(
                    InvocationListQuery(workspaceId: workspace.id, threadId: thread.id), viewer: .singleUser)
                #expect(inThread.invocations.map(\.invocation.id) == ["run-2", "run-1", "run-0"])
                #expect(inThread.invocations.first?.threadSlug == thread.slug && inThread.next == nil)
                let everyone = try await storage.invocations.invocations(InvocationListQuery(), viewer: .singleUser)
                #expect(everyone.invocations.count == 5)
                let (latest, steps) = try #require(try await storage.invocations.latestInvocation(threadId: thread.id!, viewer: aliceViewer))
                #expect(latest.id == "run-2" && steps.isEmpty)
                #expect(try await storage.invocations.latestInvocation(threadId: thread.id!, viewer: Viewer(userId: bob.id, isAdmin: false)) == nil)

                // A workspace's MCP servers round-trip (PROTOCOL §10).
                var configured = workspace
                configured.mcpServers = [MCPServerConfiguration(name: "files", transport: .stdio, command: "python3", args: ["s.py"],
                                                                env: ["TOKEN": "secret"], requiresApproval: true, timeoutMs: 500)]
                _ = try await storage.chats.updateWorkspace(configured)
                #expect(try await storage.chats.workspace(slug: workspace.slug)?.mcpServers == configured.mcpServers)
            }
        }

        @Test(arguments: Backend.allCases)
        func runLogWritesReadsAndExpires(backend: Backend) async throws {
            try await backend.withStorage { storage in
                let runId = UUID().uuidString.lowercased()
                var batch = RunLogBatch()
                batch.started = [RunRecord(id: runId, kind: .chat, workspaceId: 1, userId: 7, frameExtra: ["user": "a"], room: "w:1")]
                batch.frames = [(runId, (0..<3).map { RunFrame(seq: $0, type: "chat_token", json: #"{"token":"t\#($0)"}"#) })]
                try await storage.runLog.write(batch)
                var second = RunLogBatch()
                second.frames = [(runId, [RunFrame(seq: 3, type: "chat_complete", json: #"{"status":"completed"}"#)])]
                let ended = Timestamp.now().addingTimeInterval(-3_600)
                second.ended = [(runId, ended)]
                try await storage.runLog.write(second)

                let run = try #require(try await storage.runLog.run(id: runId, viewer: Viewer(userId: 7, isAdmin: false)))
                #expect(run.lastSeq == 3 && run.room == "w:1" && run.frameExtra == ["user": "a"])
                #expect(abs(try #require(run.endedAt).timeIntervalSince(ended)) < 0.001)
                #expect(try await storage.runLog.run(id: runId, viewer: Viewer(userId: 8, isAdmin: false)) == nil)
                let all = try await storage.runLog.frames(ofRun: runId, after: -1, limit: 100)
                #expect(all.map(\.seq) == [0, 1, 2, 3] && all[1].json == #"{"token":"t1"}"# && all[3].type == "chat_complete")
                #expect(try await storage.runLog.frames(ofRun: runId, after: 1, limit: 1).map(\.seq) == [2])
                #expect(try await storage.runLog.deleteLogs(endedBefore: Timestamp.now().addingTimeInterval(-7_200)) == 0)
                #expect(try await storage.runLog.deleteLogs(endedBefore: Timestamp.now()) == 1)
                #expect(try await storage.runLog.frames(ofRun: runId, after: -1, limit: 100).isEmpty)
            }
        }

        @Test(arguments: Backend.allCases)
        func startupRepairEndsWhatADeadProcessLeft(backend: Backend) async throws {
            try await backend.withDeadAndLiveStorage { dead, storage in
                let workspace = try await storage.chats.createWorkspace(Workspace(name: "W", slug: ""))
                let chat = try await storage.chats.beginChat(Chat(workspaceId: workspace.id!, threadId: nil, userId: nil, prompt: "p"),
                                                             dailyLimit: nil, now: Date())
                let waiting = UUID().uuidString.lowercased()
                let running = UUID().uuidString.lowercased()
                for id in [waiting, running] {
                    try await storage.invocations.createInvocation(AgentInvocation(
                        id: id, workspaceId: workspace.id!, threadId: nil, userId: nil, requestId: nil, message: "m", maxSteps: 3,
                        clientTools: []))
                }
                var batch = RunLogBatch()
                batch.started = [RunRecord(id: chat.chatUuid, kind: .chat, workspaceId: workspace.id!, userId: nil),
                                 RunRecord(id: waiting, kind: .agent, workspaceId: workspace.id!, userId: nil),
                                 RunRecord(id: running, kind: .agent, workspaceId: workspace.id!, userId: nil)]
                batch.frames = [
                    (chat.chatUuid, [RunFrame(seq: 0, type: "chat_token", json: #"{"type":"chat_token","token":"Hel"}"#),
                                     RunFrame(seq: 1, type: "chat_token", json: #"{"type":"chat_token","token":"lo"}"#)]),
                    (waiting, [RunFrame(seq: 0, type: "tool_call", json: #"{"type":"tool_call","step":1,"call_id":"c1","name":"read","executor":"client"}"#)]),
                    (running, [RunFrame(seq: 0, type: "agent_token", json: #"{"type":"agent_token","step":1,"token":"half"}"#)]),
                ]
                try await dead.runLog.write(batch)

                let report = try await storage.repair.repairUnfinishedRuns(now: Timestamp.now())
                #expect(report.interruptedChats == [chat.id!])
                #expect(report.waitingInvocations == [waiting])
                #expect(report.interruptedInvocations == [running])
                let repaired = try #require(try await storage.chats.chat(id: chat.id!, viewer: .singleUser))
                #expect(repaired.chat.status == .interrupted && repaired.chat.response == "Hello")
                let chatFrames = try await storage.runLog.frames(ofRun: chat.chatUuid, after: -1, limit: 10)
                #expect(chatFrames.last?.type == "chat_complete" && chatFrames.last?.seq == 2)
                #expect(try await storage.invocations.invocation(id: waiting, viewer: .singleUser)?.0.status == .waiting)
                let interrupted = try #require(try await storage.invocations.invocation(id: running, viewer: .singleUser)?.0)
                #expect(interrupted.status == .interrupted && interrupted.response == "half")
                #expect(try await storage.runLog.frames(ofRun: running, after: 0, limit: 10).map(\.type) == ["agent_complete"])
                // Nothing is left to repair. The waiting run stays waiting; on PostgreSQL it is now this
                // instance's (leased), so a later sweep does not hand it out again.
                let again = try await storage.repair.repairUnfinishedRuns(now: Timestamp.now())
                #expect(again.waitingInvocations == (backend == .sqlite ? [waiting] : []))
                #expect(again.interruptedChats.isEmpty && again.interruptedInvocations.isEmpty)
            }
        }

        @Test(arguments: Backend.allCases)
        func searchRanksFiltersPagesAndHighlights(backend: Backend) async throws {
            try await backend.withStorage { storage in
                let alice = try await storage.accounts.createUser(User(username: "alice", passwordHash: "h"))
                let viewer = Viewer(userId: alice.id, isAdmin: false)
                let workspace = try await storage.chats.createWorkspace(Workspace(name: "W", slug: ""))
                let texts: [(String, String)] = [
                    ("How do I descale a kettle?", "Use vinegar to descale the kettle."),
                    ("Blue kettles", "A blue kettle is still a kettle."),
                    ("Teapots", "Teapots are not <mark>kettles</mark> & never were."),
                    ("Unrelated", "Nothing here."),
                ]
                var ids: [Int64] = []
                for (prompt, response) in texts {
                    let chat = try await storage.chats.beginChat(
                        Chat(workspaceId: workspace.id!, threadId: nil, userId: alice.id, prompt: prompt), dailyLimit: nil, now: Date())
                    try await storage.chats.finishChat(id: chat.id!, outcome: ChatOutcome(response: response, status: .completed,
                                                                                          usage: nil, model: nil))
                    ids.append(chat.id!)
                }
                _ = try await storage.chats.beginChat(Chat(workspaceId: workspace.id!, threadId: nil, userId: alice.id,
                                                           prompt: "kettle still streaming"), dailyLimit: nil, now: Date())
                let search = storage.search
                let all = try await search.search(ChatSearchQuery(text: "kettle", limit: 10), viewer: viewer)
                #expect(Set(all.hits.map(\.entry.chat.id!)) == Set(ids[0...2]) && all.next == nil)
                #expect(all.hits.allSatisfy { $0.score > 0 || backend == .sqlite })
                // Ranked best first: scores never increase down the page.
                #expect(zip(all.hits, all.hits.dropFirst()).allSatisfy { $0.rank <= $1.rank })
                let phrase = try await search.search(ChatSearchQuery(text: "\"blue kettle\""), viewer: viewer)
                #expect(phrase.hits.map(\.entry.chat.id) == [ids[1]])
                #expect(phrase.hits[0].responseSnippet.contains("<mark>"))
                let prefix = try await search.search(ChatSearchQuery(text: "desc*"), viewer: viewer)
                #expect(prefix.hits.map(\.entry.chat.id) == [ids[0]])
                let prompts = try await search.search(ChatSearchQuery(text: "vinegar", field: .prompt), viewer: viewer)
                #expect(prompts.hits.isEmpty)
                let responses = try await search.search(ChatSearchQuery(text: "vinegar", field: .response), viewer: viewer)
                #expect(responses.hits.map(\.entry.chat.id) == [ids[0]])
                // A user's own markup is text, only the highlights are markup.
                let teapot = try await search.search(ChatSearchQuery(text: "teapots"), viewer: viewer)
                let snippet = try #require(teapot.hits.first?.responseSnippet)
                #expect(snippet.contains("&lt;mark&gt;") && snippet.contains("&amp;") && snippet.contains("<mark>Teapots</mark>"), "\(snippet)")
                // Pages: stable positions, no hit twice, none missed.
                let first = try await search.search(ChatSearchQuery(text: "kettle", limit: 2), viewer: viewer)
                let next = try #require(first.next)
                let added = try await storage.chats.beginChat(Chat(workspaceId: workspace.id!, threadId: nil, userId: alice.id,
                                                                   prompt: "kettle kettle kettle"), dailyLimit: nil, now: Date())
                try await storage.chats.finishChat(id: added.id!, outcome: ChatOutcome(response: "kettle", status: .completed, usage: nil, model: nil))
                let second = try await search.search(ChatSearchQuery(text: "kettle", limit: 2, after: next), viewer: viewer)
                #expect(Set(first.hits.map(\.entry.chat.id!) + second.hits.map(\.entry.chat.id!)) == Set(ids[0...2]))
                #expect(second.next == nil)
                // Other users find none of them; nonsense finds nothing and never fails.
                #expect(try await search.search(ChatSearchQuery(text: "kettle"), viewer: Viewer(userId: 99, isAdmin: false)).hits.isEmpty)
                #expect(try await search.search(ChatSearchQuery(text: "\" ' :* & | ! ( ) NEAR"), viewer: viewer).hits.isEmpty)
                #expect(try await search.search(ChatSearchQuery(text: "kettle", workspaceId: workspace.id! + 1), viewer: viewer).hits.isEmpty)
            }
        }

        @Test(arguments: Backend.allCases)
        func exportWalksChunksInConversationOrder(backend: Backend) async throws {
            try await backend.withStorage { storage in
                let alice = try await storage.accounts.createUser(User(username: "alice", passwordHash: "h"))
                let viewer = Viewer(userId: alice.id, isAdmin: false)
                let workspace = try await storage.chats.createWorkspace(Workspace(name: "W", slug: ""))
                let thread = try await storage.chats.createThread(workspaceId: workspace.id!, userId: alice.id, name: "T")
                var expected: [Int64] = []
                var threaded: [Int64] = []
                for index in 0..<7 {
                    let chat = try await storage.chats.beginChat(
                        Chat(workspaceId: workspace.id!, threadId: index % 2 == 0 ? thread.id : nil, userId: alice.id, prompt: "p\(index)"),
                        dailyLimit: nil, now: Date())
                    try await storage.chats.finishChat(id: chat.id!, outcome: ChatOutcome(response: "r", status: .completed, usage: nil, model: nil))
                    if index % 2 == 0 { threaded.append(chat.id!) } else { expected.append(chat.id!) }
                }
                _ = try await storage.chats.setFeedback(chatId: threaded[0], feedback: true, viewer: viewer)
                expected += threaded  // the default thread first, then the thread, each by id
                let source = storage.export
                #expect(try await source.exportCount(ExportFilter(), viewer: viewer) == 7)
                #expect(try await source.exportCount(ExportFilter(feedback: true), viewer: viewer) == 1)
                #expect(try await source.exportCount(ExportFilter(), viewer: Viewer(userId: 99, isAdmin: false)) == 0)
                var walked: [Int64] = []
                var after: ExportPosition?
                for _ in 0..<10 {
                    let chunk = try await source.exportChunk(ExportFilter(), viewer: viewer, after: after, limit: 3)
                    guard let last = chunk.last else { break }
                    walked += chunk.map { $0.chat.id! }
                    #expect(chunk.allSatisfy { $0.username == "alice" && $0.entry.workspaceSlug == "w" })
                    after = ExportPosition(last.chat)
                }
                #expect(walked == expected)
            }
        }

        @Test(arguments: Backend.allCases)
        func documentsAndRetrieval(backend: Backend) async throws {
            try await backend.withStorage { storage in
                let documents = storage.documents
                let alice = try await storage.accounts.createUser(User(username: "alice", passwordHash: "h"))
                let viewer = Viewer(userId: alice.id, isAdmin: false)
                let workspace = try await storage.chats.createWorkspace(Workspace(name: "W", slug: ""))
                let wid = workspace.id!
                func chunks(_ texts: [String]) -> [DocumentChunk] {
                    texts.enumerated().map { DocumentChunk(documentId: 0, workspaceId: 0, position: $0, heading: $0 == 0 ? "Intro" : nil, text: $1) }
                }
                let policy = try await documents.addDocument(
                    Document(workspaceId: wid, userId: alice.id, name: "policy.txt", mime: "text/plain", size: 10, text: "full"),
                    chunks: chunks(["Refund policies allow returns within 30 days.", "Shipping takes a week.", "Warranty covers two years."]))
                let pinned = try await documents.addDocument(
                    Document(workspaceId: wid, userId: alice.id, name: "pinned.txt", mime: "text/plain", size: 5, text: "p"),
                    chunks: chunks(["Always greet the customer."]))
                _ = try await documents.addDocument(
                    Document(workspaceId: wid, userId: nil, name: "other.txt", mime: "text/plain", size: 5, text: "o"),
                    chunks: chunks(["Refund for the owner without a user."]))
                #expect(policy.chunkCount == 3)
                let listed = try await documents.documents(workspaceId: wid, viewer: viewer)
                #expect(listed.map(\.name) == ["policy.txt", "pinned.txt"] && listed.allSatisfy { $0.text.isEmpty })
                #expect(try await documents.documents(workspaceId: wid, viewer: .singleUser).count == 3)
                #expect(try await documents.document(id: policy.id!, workspaceId: wid, viewer: viewer)?.text == "full")
                #expect(try await documents.document(id: policy.id!, workspaceId: wid, viewer: Viewer(userId: 99, isAdmin: false)) == nil)
                #expect(try await documents.setPinned(id: pinned.id!, workspaceId: wid, pinned: true, viewer: viewer)?.pinned == true)
                let stored = try await documents.chunks(documentId: policy.id!)
                #expect(stored.map(\.position) == [0, 1, 2] && stored[0].heading == "Intro" && stored[0].workspaceId == wid)

                // Retrieval: the owner's passages only, prefix-matched stems, pinned passages first.
                let retriever = DocumentRetriever(store: documents)
                let hits = try await retriever.search(query: "refunds policies", workspaceId: wid, ownerId: alice.id, limit: 5, threshold: 0.1)
                #expect(hits.map(\.text) == ["Refund policies allow returns within 30 days."])
                #expect(hits[0].score == 1 && hits[0].documentName == "policy.txt")
                let ownerless = try await retriever.search(query: "refund", workspaceId: wid, ownerId: nil, limit: 5, threshold: 0.1)
                #expect(ownerless.map(\.documentName) == ["other.txt"])
                let retrieval = try await retriever.retrieve(query: "warranty years", workspace: workspace, ownerId: alice.id)
                #expect(retrieval.matched)
                #expect(retrieval.chunks.map(\.source.chunk) == ["Always greet the customer.", "Warranty covers two years."])
                #expect(retrieval.chunks.first?.pinned == true)

                // Re-embedding reads what lacks a vector of the model, and vectors bump the revision.
                let revision = try await documents.indexRevision(workspaceId: wid)
                #expect(try await documents.countChunksToEmbed(model: "m", all: false, workspaceId: wid) == 5)
                let batch = try await documents.chunksToEmbed(model: "m", all: false, workspaceId: wid, afterId: 0, limit: 2)
                #expect(batch.count == 2)
                try await documents.setEmbeddings(batch.map { ($0.id!, [3, 4]) }, model: "m")
                #expect(try await documents.countChunksToEmbed(model: "m", all: false, workspaceId: wid) == 3)
                #expect(try await documents.countChunksToEmbed(model: "m", all: true, workspaceId: nil) == 5)
                #expect(try await documents.indexRevision(workspaceId: wid) > revision)
                let vectors = try await documents.vectors(workspaceId: wid, model: "m")
                #expect(vectors.map(\.id) == batch.map(\.id!) && vectors[0].vector == [0.6, 0.8])
                #expect(try await documents.documentIds(workspaceId: wid, ownerId: alice.id) == [policy.id!, pinned.id!])

                #expect(try await documents.deleteDocument(id: policy.id!, workspaceId: wid, viewer: Viewer(userId: 99, isAdmin: false)) == false)
                #expect(try await documents.deleteDocument(id: policy.id!, workspaceId: wid, viewer: viewer))
                #expect(try await documents.chunks(documentId: policy.id!).isEmpty)
                #expect(try await retriever.search(query: "refund", workspaceId: wid, ownerId: alice.id, limit: 5, threshold: 0.1).isEmpty)
            }
        }
    }
}
