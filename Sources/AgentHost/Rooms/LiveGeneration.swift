import Synchronization

/// A chat generation running for a room, stoppable by any member's `cancel`.
final class LiveGeneration: Sendable {
    let chatId: String
    let room: RoomKey
    let cancel = CancelSignal()

    init(chatId: String, room: RoomKey) {
        self.chatId = chatId
        self.room = room
    }
}

/// The generations in memory, by chat id.
final class ChatGenerations: Sendable {
    private let live = Mutex<[String: LiveGeneration]>([:])

    func insert(_ generation: LiveGeneration) {
        live.withLock { $0[generation.chatId] = generation }
    }

    func remove(_ chatId: String) {
        _ = live.withLock { $0.removeValue(forKey: chatId) }
    }

    func lookup(_ chatId: String) -> LiveGeneration? {
        live.withLock { $0[chatId] }
    }
}
