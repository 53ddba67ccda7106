import Foundation
import GRDB
import Logging
import Testing

@testable import ChatBridge

@Suite("The run log")
struct RunLogTests {
    private func store() throws -> SQLiteStore {
        let store = SQLiteStore(writer: try DatabaseQueue())
        try AppDatabase.migrate(store.writer)
        return store
    }

    private func frame(_ seq: Int, _ type: String = "chat_token") -> RunFrame {
        RunFrame(seq: seq, type: type, json: #"{"seq":\#(seq),"token":"a\tb\nc"}"#.replacingOccurrences(of: "\t", with: "\\t")
                     .replacingOccurrences(of: "\n", with: "\\n"))
    }

    @Test func framesComeBackByteForByteInPagesAfterAnySeq() async throws {
        let store = try store()
        var batch = RunLogBatch()
        batch.started = [RunRecord(id: "r", kind: .chat, workspaceId: 1, userId: 7)]
        batch.frames = [("r", (0..<10).map { frame($0) })]
        try await store.write(batch)
        var more = RunLogBatch()
        more.frames = [("r", (10..<25).map { frame($0) })]
        more.ended = [("r", Date())]
        try await store.write(more)
        let all = try await store.frames(ofRun: "r", after: -1, limit: 100)
        #expect(all == (0..<25).map { frame($0) })
        #expect(try await store.frames(ofRun: "r", after: 7, limit: 5) == (8..<13).map { frame($0) })
        #expect(try await store.frames(ofRun: "r", after: 24, limit: 5).isEmpty)
        let run = try #require(try await store.run(id: "r", viewer: .singleUser))
        #expect(run.lastSeq == 24)
        #expect(run.endedAt != nil)
        #expect(try await store.run(id: "r", viewer: Viewer(userId: 8, isAdmin: false)) == nil, "another user's run is not theirs")
    }

    @Test func theWriterBatchesAndAFlushWaitsUntilStored() async throws {
        let store = try store()
        let writer = RunLogWriter(store: store, interval: .seconds(30), logger: Logger(label: "test"))
        try await withThrowingTaskGroup(of: Void.self) { group throws in
            group.addTask { await writer.run() }
            writer.start(RunRecord(id: "r", kind: .agent, workspaceId: 1, userId: nil))
            for seq in 0..<3 { writer.append(frame(seq), to: "r") }
            // A 30 s batch interval: only a flush gets them stored now.
            await writer.flush()
            #expect(try await store.frames(ofRun: "r", after: -1, limit: 10).count == 3)
            writer.append(frame(3, "agent_complete"), to: "r")
            writer.end("r")
            group.cancelAll()
        }
        // Cancelling the loop writes what is left.
        #expect(try await store.frames(ofRun: "r", after: -1, limit: 10).map(\.seq) == [0, 1, 2, 3])
        #expect(try await store.run(id: "r", viewer: .singleUser)?.endedAt != nil)
    }

    @Test func logsOfRunsThatEndedBeforeTheCutoffAreDeleted() async throws {
        let store = try store()
        var batch = RunLogBatch()
        batch.started = [RunRecord(id: "old", kind: .chat, workspaceId: 1, userId: nil),
                         RunRecord(id: "new", kind: .chat, workspaceId: 1, userId: nil),
                         RunRecord(id: "open", kind: .agent, workspaceId: 1, userId: nil)]
        batch.frames = [("old", [frame(0)]), ("new", [frame(0)]), ("open", [frame(0)])]
        batch.ended = [("old", Date(timeIntervalSinceNow: -10 * 86_400)), ("new", Date())]
        try await store.write(batch)
        #expect(try await store.deleteLogs(endedBefore: Date(timeIntervalSinceNow: -7 * 86_400)) == 1)
        #expect(try await store.run(id: "old", viewer: .singleUser) == nil)
        #expect(try await store.frames(ofRun: "old", after: -1, limit: 10).isEmpty)
        #expect(try await store.frames(ofRun: "new", after: -1, limit: 10).count == 1)
        #expect(try await store.frames(ofRun: "open", after: -1, limit: 10).count == 1, "an unfinished run is never deleted")
    }

    @Test func anAgentLogShowsWhetherTheRunOnlyWaitsOnItsClient() {
        func event(_ seq: Int, _ event: AgentEvent) -> RunFrame { event.frame(invocationId: "i", seq: seq) }
        let call = AgentToolCall(callId: "c1", name: "where", arguments: [:], executor: "client", step: 1, timeoutMilliseconds: 1000)
        let server = AgentToolCall(callId: "s1", name: "calc", arguments: [:], executor: "server", step: 1)
        let opening = [event(0, .start(thread: nil, workspace: "w", maxSteps: 4, requestId: nil)), event(1, .token("Let me see", step: 1))]
        #expect(!AgentLogState(frames: opening).isWaitingOnClient, "a model step in flight")
        let waiting = AgentLogState(frames: opening + [event(2, .toolCall(call))])
        #expect(waiting.isWaitingOnClient)
        #expect(waiting.pendingFrames["c1"]?.seq == 2)
        #expect(waiting.lastStepText == "Let me see")
        #expect(!AgentLogState(frames: opening + [event(2, .toolCall(call)), event(3, .toolCall(server))]).isWaitingOnClient,
                "a server tool was running")
        let answered = opening + [event(2, .toolCall(call)),
                                  event(3, .toolResult(AgentToolResult(callId: "c1", name: "where", output: "x", isError: false,
                                                                       durationMilliseconds: 1)))]
        #expect(!AgentLogState(frames: answered).isWaitingOnClient, "answered: the next step was due")
        #expect(AgentLogState(frames: opening + [event(2, .approvalRequired(server))]).isWaitingOnClient, "an approval")
    }
}

@Suite("Frames serialized for the run log")
struct FrameSerializationTests {
    @Test(arguments: [[:], ["user": JSONValue.string("ana")], ["user": .null, "aaa": .number(1)]] as [[String: JSONValue]])
    func aTokenFrameWrittenDirectlyEqualsItsJSONObject(extra: [String: JSONValue]) {
        for token in ["plain", "quote \" and \\ back", "line\nbreak\ttab\u{1}", "ünïcödé 🙂", ""] {
            let frame = ChatFrame(chatId: "c-1", seq: 42, kind: .token(token))
            #expect(frame.serialized(extra: extra) == frame.json(extra: extra).serializedString)
        }
    }
}
