import ChatBridge
import Foundation

/// The in-process ``RoomBus``: room membership and typing state in one actor.
actor LocalRoomBus: RoomBus {
    private struct Room {
        var members: [String: RoomMember] = [:]
        /// When each member last sent `is_typing: true` that went out.
        var typingSince: [String: ContinuousClock.Instant] = [:]
    }

    private var rooms: [RoomKey: Room] = [:]
    private let typingThrottle: Duration

    init(typingThrottle: Duration = .seconds(1)) {
        self.typingThrottle = typingThrottle
    }

    func join(_ member: RoomMember, room: RoomKey) {
        rooms[room, default: Room()].members[member.id] = member
    }

    func leave(_ member: RoomMember, room: RoomKey) {
        _ = remove(member, room: room)
    }

    /// Removes a member; if it was typing, tells the others here it stopped and returns that frame,
    /// for the members elsewhere.
    func remove(_ member: RoomMember, room: RoomKey) -> String? {
        guard var state = rooms[room] else { return nil }
        state.members.removeValue(forKey: member.id)
        let wasTyping = state.typingSince.removeValue(forKey: member.id) != nil
        rooms[room] = state.members.isEmpty ? nil : state
        guard wasTyping else { return nil }
        let frame: JSONValue = ["type": "typing", "user": member.username.map(JSONValue.string) ?? .null, "is_typing": false]
        let text = frame.serializedString
        if let others = rooms[room]?.members.values {
            for other in others { other.outbox.deliver(.message(text)) }
        }
        return text
    }

    func publish(_ frame: JSONValue, room: RoomKey, excluding: String?) {
        publish(serialized: frame.serializedString, room: room, excluding: excluding)
    }

    /// Sends an already serialized frame (one from another instance) to the room's members here.
    func publish(serialized text: String, room: RoomKey, excluding: String?) {
        guard let members = rooms[room]?.members.values else { return }
        for member in members where member.id != excluding { member.outbox.deliver(.message(text)) }
    }

    func members(of room: RoomKey) -> [RoomMember] {
        rooms[room].map { Array($0.members.values) } ?? []
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
