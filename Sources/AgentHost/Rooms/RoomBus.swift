import ChatBridge

/// Fans frames out to the connections of a room: membership, typing and room-wide frames.
///
/// Routes and the socket protocol only talk to this protocol. ``LocalRoomBus`` serves one
/// instance; a PostgreSQL LISTEN/NOTIFY implementation can serve several without touching routes.
/// Generations are runs (``LiveRun``): the room's members watch them like any other connection.
protocol RoomBus: Sendable {
    func join(_ member: RoomMember, room: RoomKey) async
    /// Removes a member; if it was typing, the others are told it stopped.
    func leave(_ member: RoomMember, room: RoomKey) async
    /// Sends `frame` to every member of `room` except `excluding`.
    func publish(_ frame: JSONValue, room: RoomKey, excluding: String?) async
    /// The members of `room` now.
    func members(of room: RoomKey) async -> [RoomMember]
    /// Records typing state; returns whether the frame should go out (typing starts are throttled).
    func noteTyping(_ member: RoomMember, isTyping: Bool, room: RoomKey) async -> Bool

    var roomCount: Int { get async }
    var memberCount: Int { get async }
}
