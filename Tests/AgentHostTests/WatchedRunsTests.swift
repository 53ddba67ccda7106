import ChatBridge
import GRDB
import Logging
import Testing

@testable import AgentHost

@Suite("The runs a connection watches")
struct WatchedRunsTests {
    /// An agent socket open for a long time starts and resumes many runs: only those still going are
    /// kept to detach from, not every finished run with all its frames.
    @Test func finishedRunsAreForgottenWhenTheNextOneIsAdded() throws {
        let store = SQLiteStore(writer: try DatabaseQueue())
        try AppDatabase.migrate(store.writer)
        let log = RunLogWriter(store: store, logger: Logger(label: "test"))
        func run(_ id: String) -> LiveRun {
            let run = LiveRun(record: RunRecord(id: id, kind: .agent, workspaceId: 1, userId: nil), log: log)
            run.publish { RunFrame(seq: $0, type: "agent_start", json: "{}") }
            return run
        }
        let watched = WatchedRuns()
        let first = run("first"), second = run("second"), third = run("third")
        watched.add(first)
        watched.add(second)
        second.publish(terminal: true) { RunFrame(seq: $0, type: "agent_complete", json: "{}") }
        #expect(Set(watched.all.map(\.id)) == ["first", "second"], "a finished run stays until the next is added")

        watched.add(third)
        #expect(Set(watched.all.map(\.id)) == ["first", "third"])
        watched.add(first)
        #expect(watched.all.count == 2, "a resumed run replaces its own entry")
        first.publish(terminal: true) { RunFrame(seq: $0, type: "agent_complete", json: "{}") }
        third.publish(terminal: true) { RunFrame(seq: $0, type: "agent_complete", json: "{}") }
        watched.add(run("fourth"))
        #expect(watched.all.map(\.id) == ["fourth"])
    }
}
