/// One frame of a run (PROTOCOL §8) as it went out: its `seq`, its wire `type` and its JSON text.
///
/// A run's frames are serialized once, when they are produced; live watchers, the log and every
/// replay send these same bytes, so a replay equals what a live watcher got.
public struct RunFrame: Sendable, Equatable {
    public var seq: Int
    public var type: String
    public var json: String

    public init(seq: Int, type: String, json: String) {
        self.seq = seq
        self.type = type
        self.json = json
    }
}

extension RunFrame {
    /// The frame's JSON object (for the few readers that inspect a stored frame, such as start-up repair).
    public var object: JSONValue? { try? JSONValue(parsing: json) }
}
