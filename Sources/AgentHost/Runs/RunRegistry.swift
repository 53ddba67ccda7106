import ChatBridge
import Synchronization

/// The runs in this process's memory, by id: running ones, and finished ones for a short while
/// (then their frames come from the log).
final class RunRegistry: Sendable {
    private let live = Mutex<[String: LiveRun]>([:])

    func insert(_ run: LiveRun) {
        live.withLock { $0[run.id] = run }
    }

    func remove(_ id: String) {
        _ = live.withLock { $0.removeValue(forKey: id) }
    }

    func lookup(_ id: String) -> LiveRun? {
        live.withLock { $0[id] }
    }

    /// The unfinished generations of a `ws/chat` room, with their latest `seq`.
    func runningGenerations(in room: RoomKey) -> [(chatId: String, lastSeq: Int)] {
        live.withLock { live in
            live.values.filter { $0.room == room && !$0.isFinished }.map { ($0.id, $0.lastSeq) }
        }
    }

    var count: Int { live.withLock { $0.count } }
}
