import ChatBridge
import NIOCore
import Synchronization

/// The messages of one WebSocket waiting for its session, and the session's task, which exists only
/// while there is something to do.
///
/// The event loop (``WebSocketFrameLoop``) puts messages in; a task of ``WebSocketWriters`` opens the
/// session, hands it the messages one at a time in order, and ends when none are left. An idle
/// connection then has no task at all: a task costs an open connection its object and the stack
/// slabs of the deepest call it made (the Swift task allocator frees them only when the task ends),
/// which, with Hummingbird's and WSCore's frames, was most of the 25 KB an idle socket took.
final class WebSocketInbox: Sendable {
    enum Item: Sendable {
        case message([UInt8])
        case refusal(APIError)
    }

    /// Reading stops with this many messages waiting, and starts again when they are down to `resumeAt`.
    static let pauseAt = 10
    static let resumeAt = 2

    private enum SessionState {
        case opening(WebSocketSessionOpener)
        case open(any WebSocketSession)
        case failed
    }

    private struct State {
        var session: SessionState
        var items: [Item] = []
        var first = 0
        var taskRunning = false
        var connectionEnded = false
        var sessionEnded = false
        var readingPaused = false

        var waiting: Int { items.count - first }
    }

    private let state: Mutex<State>
    private let connection: WebSocketConnection
    private let tasks: WebSocketWriters
    /// Runs once the session has opened (`nil`) or failed to (the connection then closes with 1011).
    private let afterOpening: @Sendable ((any Error)?) -> Void

    init(connection: WebSocketConnection, opener: @escaping WebSocketSessionOpener, tasks: WebSocketWriters,
         afterOpening: @escaping @Sendable ((any Error)?) -> Void) {
        self.connection = connection
        self.tasks = tasks
        self.afterOpening = afterOpening
        state = Mutex(State(session: .opening(opener)))
    }

    /// Opens the session, in a task.
    func open() {
        startTaskIfNeeded()
    }

    /// Queues an item; `true` when reading should pause until the session catches up.
    func put(_ item: Item) -> Bool {
        var pause = false
        startTaskIfNeeded { state in
            state.items.append(item)
            pause = state.waiting >= Self.pauseAt && !state.readingPaused
            if pause { state.readingPaused = true }
        }
        return pause
    }

    /// The connection closed: the session ends after the messages already queued.
    func connectionEnded() {
        startTaskIfNeeded { $0.connectionEnded = true }
    }

    /// Applies `change` and starts the session's task unless it is running: the one place that
    /// decides, under the lock, that there is a task to start.
    private func startTaskIfNeeded(after change: (inout State) -> Void = { _ in }) {
        let start = state.withLock { state -> Bool in
            change(&state)
            defer { state.taskRunning = true }
            return !state.taskRunning
        }
        if start { tasks.startTask { await self.work() } }
    }

    private enum Step {
        case open(WebSocketSessionOpener)
        case receive(any WebSocketSession, Item, resumeReading: Bool)
        case end(any WebSocketSession)
        case done
    }

    /// One run of the session's task: until nothing is left to do.
    private func work() async {
        while true {
            switch nextStep() {
            case .open(let opener):
                do {
                    let session = try await opener(connection)
                    state.withLock { $0.session = .open(session) }
                    afterOpening(nil)
                } catch {
                    state.withLock { $0.session = .failed }
                    afterOpening(error)
                }
            case .receive(let session, let item, let resumeReading):
                if resumeReading { _ = connection.channel.setOption(ChannelOptions.autoRead, value: true) }
                switch item {
                case .message(let bytes): await session.receive(bytes)
                case .refusal(let error): session.refuse(error)
                }
            case .end(let session):
                await session.end()
            case .done:
                return
            }
        }
    }

    private func nextStep() -> Step {
        state.withLock { state -> Step in
            switch state.session {
            case .opening(let opener):
                return .open(opener)
            case .failed:
                state.items = []
                state.first = 0
                state.taskRunning = false
                return .done
            case .open(let session):
                if state.waiting > 0 {
                    let item = state.items[state.first]
                    state.first += 1
                    if state.first == state.items.count {
                        state.items.removeAll()
                        state.first = 0
                    }
                    let resume = state.readingPaused && state.waiting <= Self.resumeAt
                    if resume { state.readingPaused = false }
                    return .receive(session, item, resumeReading: resume)
                }
                if state.connectionEnded && !state.sessionEnded {
                    state.sessionEnded = true
                    return .end(session)
                }
                state.taskRunning = false
                return .done
            }
        }
    }
}
