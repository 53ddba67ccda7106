import ChatBridge

/// A ``RoomBus`` whose rooms span every instance on the database (PROTOCOL §9): membership and
/// typing state are this instance's (``LocalRoomBus``); room frames also go to the members on the
/// other instances, which hand them to theirs (``ClusterService``).
struct ClusterRoomBus: RoomBus {
    let local: LocalRoomBus
    let peers: any ClusterPeers

    func join(_ member: RoomMember, room: RoomKey) async {
        await local.join(member, room: room)
    }

    func leave(_ member: RoomMember, room: RoomKey) async {
        // A member that leaves while typing has stopped, for the members on every instance.
        if let stopped = await local.remove(member, room: room) {
            await peers.broadcast(stopped, to: room, excluding: member.id)
        }
    }

    func publish(_ frame: JSONValue, room: RoomKey, excluding: String?) async {
        let text = frame.serializedString
        await local.publish(serialized: text, room: room, excluding: excluding)
        await peers.broadcast(text, to: room, excluding: excluding)
    }

    func members(of room: RoomKey) async -> [RoomMember] {
        await local.members(of: room)
    }

    func noteTyping(_ member: RoomMember, isTyping: Bool, room: RoomKey) async -> Bool {
        await local.noteTyping(member, isTyping: isTyping, room: room)
    }

    var roomCount: Int { get async { await local.roomCount } }
    var memberCount: Int { get async { await local.memberCount } }
}
