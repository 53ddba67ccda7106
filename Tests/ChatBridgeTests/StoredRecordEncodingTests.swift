import Foundation
import GRDB
import Testing

@testable import ChatBridge

/// The rows written on every answer (chat, telemetry event, run) are encoded by hand and their
/// dates formatted without `DateFormatter`; these tests pin that the stored values are exactly what
/// GRDB's `Codable` mapping and `Date` conversion stored before, so existing rows compare, sort and
/// filter as they did.
@Suite("Stored records encode as GRDB's Codable mapping did")
struct StoredRecordEncodingTests {
    /// A record encoded through GRDB's default `Codable` path, as it was before the hand-written mapping.
    private struct CodableEncoding<Record: Encodable & EncodableRecord>: Encodable, EncodableRecord {
        var record: Record
        func encode(to encoder: any Encoder) throws { try record.encode(to: encoder) }
        static var databaseColumnEncodingStrategy: DatabaseColumnEncodingStrategy { .convertToSnakeCase }
    }

    /// Dates at the day, month, year and millisecond edges, exact half milliseconds, the values
    /// `Timestamp.now()` yields, random instants over the four-digit years, and the ones outside
    /// (before 1970, past 9999) that GRDB formats itself.
    static func dates(count: Int) -> [Date] {
        var dates: [Date] = []
        let edges = ["1970-01-01T00:00:00Z", "1999-12-31T23:59:59Z", "2000-02-29T12:00:00Z", "2024-02-29T23:59:59Z",
                     "2026-12-01T11:40:14Z", "2100-03-01T00:00:00Z", "9999-12-31T23:59:59Z", "1969-12-31T23:59:59Z",
                     "1900-01-01T00:00:00Z"]
        for edge in edges {
            let date = try! Date(edge, strategy: Date.ISO8601FormatStyle())
            for offset in [-1.0, -0.0015, -0.0005, -0.0004, 0, 0.0004, 0.0005, 0.0006, 0.999, 0.9995, 0.9999, 1] {
                dates.append(date.addingTimeInterval(offset))
            }
        }
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<count {
            dates.append(Date(timeIntervalSince1970: Double.random(in: 0..<253_402_300_800, using: &generator)))
            let milliseconds = Double(Int64.random(in: 0..<4_000_000_000_000, using: &generator))
            dates.append(Date(timeIntervalSince1970: milliseconds / 1000))
            dates.append(Date(timeIntervalSince1970: (milliseconds + 0.5) / 1000))
            dates.append(Date(timeIntervalSince1970: Double.random(in: -3e10..<0, using: &generator)))
        }
        dates.append(Timestamp.now())
        dates.append(Date(timeIntervalSince1970: 253_402_300_800))  // 10000-01-01
        dates.append(Date(timeIntervalSince1970: 1e12))
        return dates
    }

    @Test func aStoredDateIsTheTextGRDBStoresForThatDate() throws {
        for date in Self.dates(count: 20_000) {
            let stored = StoredDate(date).databaseValue
            #expect(stored == date.databaseValue, "\(date.timeIntervalSince1970)")
            #expect(StoredDate.fromDatabaseValue(stored)?.date == Date.fromDatabaseValue(stored))
        }
    }

    @Test func aChatIsEncodedAsTheCodableMappingEncodedIt() throws {
        for (index, date) in Self.dates(count: 50).enumerated() {
            let hasSources = index % 2 == 0
            let chat = Chat(
                id: index % 3 == 0 ? nil : Int64(index), chatUuid: UUID().uuidString.lowercased(), workspaceId: Int64(index + 1),
                threadId: index % 4 == 0 ? nil : Int64(index * 7), userId: index % 5 == 0 ? nil : Int64(index),
                prompt: "Prompt \"\(index)\" é / \\ \n\t😀", response: index % 2 == 0 ? "" : "Answer <\(index)>",
                sources: hasSources ? [ChatSource(title: "Doc/\(index)", chunk: "chunk \"quoted\" \u{0001}", score: 0.5 + Double(index),
                                                  documentId: index % 3 == 0 ? nil : Int64(index))] : [],
                attachments: index % 3 == 0 ? [AttachmentInfo(name: "a \(index).pdf", mime: "application/pdf", size: index * 1000)] : [],
                feedback: index % 3 == 0 ? nil : index % 3 == 1, include: index % 2 == 1, apiSessionId: index % 2 == 0 ? nil : "s-\(index)",
                mode: index % 2 == 0 ? .chat : .query, model: index % 4 == 0 ? nil : "model-\(index)",
                status: [.streaming, .completed, .cancelled, .failed, .interrupted][index % 5],
                promptTokens: index % 2 == 0 ? nil : index, completionTokens: index % 3 == 0 ? nil : index * 2,
                error: index % 6 == 0 ? "failed: \(index)" : nil, createdAt: date, updatedAt: date.addingTimeInterval(1.25))
            #expect(try chat.databaseDictionary == CodableEncoding(record: chat).databaseDictionary)
        }
    }

    @Test func anEventIsEncodedAsTheCodableMappingEncodedIt() throws {
        for (index, date) in Self.dates(count: 50).enumerated() {
            let event = EventLog(
                id: index % 2 == 0 ? nil : Int64(index), event: "sent_chat_\(index)", workspaceId: index % 3 == 0 ? nil : Int64(index),
                userId: index % 4 == 0 ? nil : Int64(index), chatId: index % 5 == 0 ? nil : Int64(index),
                metadata: index % 7 == 0 ? [:] : ["provider": "openai", "ms": "\(index)", "path": "a/b \"c\"", "é": "😀", "B": "\\",
                                                  "ctl\u{1}": "\u{0}\u{8}\t\n\u{B}\u{C}\r\u{1F}\u{7F} \u{2028}", "_": "", "10": "e\u{301}"],
                createdAt: date)
            #expect(try event.databaseDictionary == CodableEncoding(record: event).databaseDictionary)
        }
    }

    @Test func aRunIsEncodedAsTheCodableMappingEncodedIt() throws {
        for (index, date) in Self.dates(count: 50).enumerated() {
            let extra: JSONValue = index % 2 == 0 ? [:] : ["user": .object(["id": .number(Double(index)), "name": .string("Ann \"A\"")])]
            let run = RunRecord(
                id: UUID().uuidString.lowercased(), kind: index % 2 == 0 ? .chat : .agent, workspaceId: Int64(index + 1),
                userId: index % 3 == 0 ? nil : Int64(index), frameExtra: extra, room: index % 2 == 0 ? nil : "7:\(index)",
                lastSeq: index - 1, createdAt: date, endedAt: index % 2 == 0 ? nil : date.addingTimeInterval(0.0105))
            #expect(try run.databaseDictionary == CodableEncoding(record: run).databaseDictionary)
        }
    }

    private static func agentRun(_ index: Int, createdAt: Date) -> AgentInvocation {
        var run = AgentInvocation(
            id: UUID().uuidString.lowercased(), workspaceId: 1, threadId: index % 3 == 0 ? nil : Int64(index),
            userId: index % 4 == 0 ? nil : Int64(index), requestId: index % 2 == 0 ? nil : "req-\(index)",
            message: "Ask \"\(index)\" é \n😀", maxSteps: 10 + index,
            clientTools: index % 2 == 0 ? [] : [["name": "pick", "parameters": ["type": "object"]]], createdAt: createdAt)
        run.context = index % 3 == 0 ? nil : ["messages": [["role": "system", "content": "Docs: \"a\" \u{1}"]], "server_tools": ["calculator"]]
        return run
    }

    /// A run's outcome as the engine sets it when the run ends.
    private static func finished(_ run: AgentInvocation, _ index: Int, at date: Date) -> AgentInvocation {
        var run = run
        run.status = AgentInvocation.Status.allCases[index % AgentInvocation.Status.allCases.count]
        run.response = index % 2 == 0 ? "" : "Answer <\(index)> 😀"
        run.chatId = index % 5 == 0 ? nil : Int64(index)
        run.steps = index
        run.promptTokens = index * 3
        run.completionTokens = index * 2
        run.error = index % 3 == 0 ? "failed: \(index)" : nil
        run.finishedAt = date.addingTimeInterval(2.5)
        return run
    }

    @Test func anAgentRunIsEncodedAsTheCodableMappingEncodedIt() throws {
        for (index, date) in Self.dates(count: 50).enumerated() {
            let run = Self.agentRun(index, createdAt: date)
            #expect(try run.databaseDictionary == CodableEncoding(record: run).databaseDictionary)
            let done = Self.finished(run, index, at: date)
            #expect(try done.databaseDictionary == CodableEncoding(record: done).databaseDictionary)
        }
    }

    /// Starting a run with the prepared insert and finishing it with the outcome's update stores the
    /// row GRDB's record insert and full update stored, column for column.
    @Test func aStoredAgentRunIsTheRowTheRecordMethodsStored() async throws {
        let database = try AppDatabase.inMemory()
        let store = SQLiteStore(writer: database)
        let workspace = try await store.createWorkspace(Workspace(name: "Runs", slug: ""))
        for (index, date) in Self.dates(count: 5).prefix(30).enumerated() {
            var run = Self.agentRun(index, createdAt: date)
            run.workspaceId = workspace.id!
            // Foreign keys: no users, threads or chats exist here (the encoding test above covers those columns).
            run.threadId = nil
            run.userId = nil
            var copy = run
            copy.id += "-record"
            let byRecord = copy
            try await database.write { db in try byRecord.insert(db) }
            try await store.createInvocation(run)
            func storedRow(_ id: String) async throws -> [String: DatabaseValue] {
                try await database.read { db in
                    let row = try #require(try Row.fetchOne(db, sql: "SELECT * FROM agent_invocations WHERE id = ?", arguments: [id]))
                    return Dictionary(uniqueKeysWithValues: row.columnNames.filter { $0 != "id" }.map { ($0, row[$0] as DatabaseValue) })
                }
            }
            #expect(try await storedRow(run.id) == storedRow(byRecord.id))

            var done = Self.finished(run, index, at: date)
            done.chatId = nil
            var doneByRecord = Self.finished(byRecord, index, at: date)
            doneByRecord.chatId = nil
            try await database.write { [doneByRecord] db in try doneByRecord.update(db) }
            try await store.finishInvocation(done)
            #expect(try await storedRow(done.id) == storedRow(doneByRecord.id))
            let read = try #require(try await store.invocation(id: done.id, viewer: .singleUser)?.0)
            var readByRecord = try #require(try await store.invocation(id: byRecord.id, viewer: .singleUser)?.0)
            readByRecord.id = done.id
            #expect(read == readByRecord)
            #expect(read.status == done.status && read.response == done.response && read.context == done.context)
        }
    }

    /// The prepared inserts every answer uses (``Chat/insertNew(_:)``, ``EventLog/insertNew(_:)``) store
    /// the same row, column for column, as GRDB's record insert of the same value.
    @Test func thePreparedInsertsStoreWhatTheRecordInsertStores() async throws {
        let database = try AppDatabase.inMemory()
        let workspace = try await SQLiteStore(writer: database).createWorkspace(Workspace(name: "Rows", slug: ""))
        try await database.write { db in
            func storedRow(_ table: String, _ id: Int64?) throws -> [String: DatabaseValue] {
                let row = try #require(try Row.fetchOne(db, sql: "SELECT * FROM \(table) WHERE id = ?", arguments: [id]))
                var columns = Dictionary(uniqueKeysWithValues: row.columnNames.map { ($0, row[$0] as DatabaseValue) })
                columns["id"] = nil
                columns["chat_uuid"] = nil
                return columns
            }
            for (index, date) in Self.dates(count: 5).prefix(40).enumerated() {
                let chat = Chat(
                    workspaceId: workspace.id!, threadId: nil, userId: nil, prompt: "Prompt \"\(index)\" é \n😀",
                    response: index % 2 == 0 ? "" : "Answer <\(index)>",
                    sources: index % 2 == 0 ? [ChatSource(title: "Doc/\(index)", chunk: "c \"q\"", score: 0.5, documentId: nil)] : [],
                    attachments: index % 3 == 0 ? [AttachmentInfo(name: "a.pdf", mime: "application/pdf", size: index)] : [],
                    feedback: index % 3 == 0 ? nil : index % 3 == 1, include: index % 2 == 1, apiSessionId: index % 2 == 0 ? nil : "s",
                    mode: index % 2 == 0 ? .chat : .query, model: index % 4 == 0 ? nil : "m", status: [.streaming, .completed, .failed][index % 3],
                    promptTokens: index % 2 == 0 ? nil : index, completionTokens: index, error: index % 4 == 0 ? "e" : nil,
                    createdAt: date, updatedAt: date.addingTimeInterval(1.25))
                var byRecord = chat
                try byRecord.insert(db)
                var prepared = chat
                prepared.chatUuid = UUID().uuidString.lowercased()
                try prepared.insertNew(db)
                #expect(prepared.id == db.lastInsertedRowID)
                #expect(try storedRow("workspace_chats", prepared.id) == storedRow("workspace_chats", byRecord.id))

                let event = EventLog(event: "sent_chat", workspaceId: index % 3 == 0 ? nil : workspace.id, userId: nil,
                                     chatId: prepared.id, metadata: index % 2 == 0 ? [:] : ["path": "a/b \"c\"", "é": "😀"], createdAt: date)
                var eventByRecord = event
                try eventByRecord.insert(db)
                var preparedEvent = event
                try preparedEvent.insertNew(db)
                #expect(try storedRow("event_logs", preparedEvent.id) == storedRow("event_logs", eventByRecord.id))
            }
        }
    }
}
