import ChatBridge
import GRDB
import Logging
import ServiceLifecycle
import Synchronization
import Testing

@testable import AgentHost

@Suite("The service that owns every run")
struct RunServiceTests {
    /// A run submitted after the service stopped taking runs (a socket's session starting one during
    /// shutdown) never starts: it leaves memory and its streams end, instead of waiting for ever.
    @Test(.timeLimit(.minutes(1)))
    func aRunSubmittedAfterShutdownEndsItsStreams() async throws {
        let store = SQLiteStore(writer: try DatabaseQueue())
        try AppDatabase.migrate(store.writer)
        let logger = Logger(label: "test")
        let log = RunLogWriter(store: store, logger: logger)
        let service = RunService(registry: RunRegistry(), log: log, store: store, shutdown: ShutdownSignal(),
                                 settings: RunLogSettings(), logger: logger)
        let group = ServiceGroup(configuration: .init(services: [service], logger: logger))
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            try await Task.sleep(for: .milliseconds(100))
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
        }

        let run = LiveRun(record: RunRecord(id: "late", kind: .chat, workspaceId: 1, userId: nil), log: log)
        let outbox = Outbox(limit: 16)
        run.attach(outbox, after: -1, endsWithRun: true)
        let started = Flag(), forgotten = Flag()
        service.submit(run, keepInMemory: .zero, whenForgotten: { forgotten.set() }) { started.set() }
        #expect(await outbox.next() == nil, "the stream ends")
        #expect(service.registry.lookup("late") == nil)
        #expect(forgotten.isSet)
        #expect(!started.isSet)
    }
}

private final class Flag: Sendable {
    private let value = Mutex(false)
    func set() { value.withLock { $0 = true } }
    var isSet: Bool { value.withLock { $0 } }
}
