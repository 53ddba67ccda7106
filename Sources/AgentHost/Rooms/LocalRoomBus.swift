import ChatBridge
import Foundation

/// The in-process ``RoomBus``: room membership, typing state and generation logs in one actor, so
/// a resume's replay and the switch to live delivery happen at once (in order, no gaps, no duplicates).
/// A connection that joins while a generation runs gets its frames only after resuming it.
actor LocalRoomBus: RoomBus {
    private struct Room {
        var members: [String: RoomMember] = [:]
        /// When each member last sent `is_typing: true` that went out.
        var typingSince: [String: ContinuousClock.Instant] = [:]
    }

    private struct Generation {
        let room: RoomKey
        var frames: [(seq: Int, text: String)] = []
        /// Members that get the frames live: those in the room when it started, and those that resumed it.
        var subscribers: Set<String>
        var finished = false
    }

    private var rooms: [RoomKey: Room] = [:]
    private var generations: [String: Generation] = [:]
    private let typingThrottle: Duration

    init(typingThrottle: Duration = .seconds(1)) {
        self.typingThrottle = typingThrottle
    }

    func join(_ member: RoomMember, room: RoomKey) {
        rooms[room, default: Room()].members[member.id] = member
    }

    func leave(_ member: RoomMember, room: RoomKey) {
        guard var state = rooms[room] else { return }
        state.members.removeValue(forKey: member.id)
        let wasTyping = state.typingSince.removeValue(forKey: member.id) != nil
        rooms[room] = state.members.isEmpty ? nil : state
        if wasTyping, let others = rooms[room] {
            let frame: JSONValue = ["type": "typing", "user": member.username.map(JSONValue.string) ?? .null, "is_typing": false]
            let text = frame.serializedString
            for other in others.members.values { other.deliver(text: text) }
        }
    }

    func publish(_ frame: JSONValue, room: RoomKey, excluding: String?) {
        guard let members = rooms[room]?.members.values else { return }
        let text = frame.serializedString
        for member in members where member.id != excluding { member.deliver(text: text) }
    }

    func publishGeneration(_ frame: JSONValue, chatId: String, seq: Int, room: RoomKey) {
        let members = rooms[room]?.members ?? [:]
        var generation = generations[chatId] ?? Generation(room: room, subscribers: Set(members.keys))
        let text = frame.serializedString
        generation.frames.append((seq, text))
        if frame["type"] == "chat_complete" || frame["type"] == "error" { generation.finished = true }
        for id in generation.subscribers {
            members[id]?.deliver(text: text)
        }
        generations[chatId] = generation
    }

    func resume(chatId: String, after afterSeq: Int, member: RoomMember, room: RoomKey) -> Bool {
        guard var generation = generations[chatId], generation.room == room else { return false }
        // A member already receiving it live resumes nothing more; otherwise replay, then go live.
        if !generation.subscribers.contains(member.id) {
            for (seq, text) in generation.frames where seq > afterSeq { member.deliver(text: text) }
            generation.subscribers.insert(member.id)
            generations[chatId] = generation
        }
        return true
    }

    func activeGenerations(room: RoomKey) -> [(chatId: String, lastSeq: Int)] {
        generations.compactMap { chatId, generation in
            generation.room == room && !generation.finished ? (chatId, generation.frames.last?.seq ?? -1) : nil
        }
    }

    func expireGeneration(chatId: String) {
        generations.removeValue(forKey: chatId)
    }

    func noteTyping(_ member: RoomMember, isTyping: Bool, room: RoomKey) -> Bool {
        guard rooms[room] != nil else { return false }
        if !isTyping {
            return rooms[room]?.typingSince.removeValue(forKey: member.id) != nil
        }
        let now = ContinuousClock.now
        if let since = rooms[room]?.typingSince[member.id], since.duration(to: now) < typingThrottle { return false }
        rooms[room]?.typingSince[member.id] = now
        return true
    }

    var roomCount: Int { rooms.count }
    var memberCount: Int { rooms.values.reduce(0) { $0 + $1.members.count } }
}
