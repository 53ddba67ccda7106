import ChatBridge

/// Fans frames out to the connections of a room and keeps recent generations replayable.
///
/// Routes and the socket protocol only talk to this protocol. ``LocalRoomBus`` serves one
/// instance; a PostgreSQL LISTEN/NOTIFY implementation can serve several without touching routes.
protocol RoomBus: Sendable {
    func join(_ member: RoomMember, room: RoomKey) async
    /// Removes a member; if it was typing, the others are told it stopped.
    func leave(_ member: RoomMember, room: RoomKey) async
    /// Sends `frame` to every member of `room` except `excluding`.
    func publish(_ frame: JSONValue, room: RoomKey, excluding: String?) async
    /// Records a frame of generation `chatId` (for resume) and sends it to the room.
    func publishGeneration(_ frame: JSONValue, chatId: String, seq: Int, room: RoomKey) async
    /// Replays generation `chatId`'s frames after `afterSeq` to `member`, then delivers the rest live;
    /// false when the generation is not (or no longer) in memory for this room. The replay is pulled
    /// by the member's writer (a ``ReplayCursor`` added to its outbox), at the client's pace.
    func resume(chatId: String, after afterSeq: Int, member: RoomMember, room: RoomKey) async -> Bool
    /// Generations of `room` still running, with their latest `seq`.
    func activeGenerations(room: RoomKey) async -> [(chatId: String, lastSeq: Int)]
    /// Forgets a finished generation.
    func expireGeneration(chatId: String) async
    /// Records typing state; returns whether the frame should go out (typing starts are throttled).
    func noteTyping(_ member: RoomMember, isTyping: Bool, room: RoomKey) async -> Bool

    var roomCount: Int { get async }
    var memberCount: Int { get async }
}
