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
        /// Members whose writers are still pulling the replay, with the index of their next frame.
        var replaying: [String: Int] = [:]
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
        for (chatId, generation) in generations where generation.room == room && generation.replaying[member.id] != nil {
            generations[chatId]?.replaying.removeValue(forKey: member.id)
        }
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
        // A member already receiving it live (or replaying it) resumes nothing more; otherwise its
        // writer pulls the replay (``pullReplay``) and goes live when it has caught up.
        if !generation.subscribers.contains(member.id), generation.replaying[member.id] == nil {
            generation.replaying[member.id] = generation.frames.firstIndexOfSuffix { $0.seq > afterSeq }
            generations[chatId] = generation
            member.outbox.addReplay(GenerationReplay(bus: self, chatId: chatId, member: member))
        }
        return true
    }

    /// The next frames of a member's replay of `chatId`; on the last ones the member becomes a live
    /// subscriber in the same step, so nothing is missed or sent twice at the seam.
    func pullReplay(chatId: String, member: RoomMember, max: Int) -> ReplayBatch {
        guard var generation = generations[chatId], let start = generation.replaying[member.id] else {
            return ReplayBatch(frames: [], caughtUp: true)
        }
        let end = min(start + max, generation.frames.count)
        let frames = generation.frames[start..<end].map(\.text)
        if end == generation.frames.count {
            generation.replaying.removeValue(forKey: member.id)
            generation.subscribers.insert(member.id)
        } else {
            generation.replaying[member.id] = end
        }
        generations[chatId] = generation
        return ReplayBatch(frames: frames, caughtUp: end == generation.frames.count)
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

/// A member's replay of one generation, pulled by its writer.
private struct GenerationReplay: ReplayCursor {
    let bus: LocalRoomBus
    let chatId: String
    let member: RoomMember

    func pull(max: Int) async -> ReplayBatch {
        await bus.pullReplay(chatId: chatId, member: member, max: max)
    }
}

private extension Array {
    /// The index of the first element for which `belongs` holds, for an array where it holds for a suffix.
    func firstIndexOfSuffix(where belongs: (Element) -> Bool) -> Int {
        var low = 0, high = count
        while low < high {
            let middle = (low + high) / 2
            if belongs(self[middle]) { high = middle } else { low = middle + 1 }
        }
        return low
    }
}
