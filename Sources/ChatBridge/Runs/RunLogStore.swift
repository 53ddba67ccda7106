import Foundation

/// Where runs' frames are kept (PROTOCOL §8). The SQLite store implements it; a PostgreSQL store
/// can, without the live machinery noticing.
public protocol RunLogStore: Sendable {
    /// Stores a batch atomically: new runs, then frames (in `seq` order per run), then ends, then agent steps.
    func write(_ batch: RunLogBatch) async throws
    /// The run's row, when the viewer may see it.
    func run(id: String, viewer: Viewer) async throws -> RunRecord?
    /// At most `limit` frames of run `id` with a `seq` above `afterSeq`, in order.
    func frames(ofRun id: String, after afterSeq: Int, limit: Int) async throws -> [RunFrame]
    /// Deletes the frames of runs that ended before `date` (their chat rows and step logs stay);
    /// returns how many runs' logs went.
    func deleteLogs(endedBefore date: Date) async throws -> Int
}

/// What a ``RunLogWriter`` flush stores in one transaction.
public struct RunLogBatch: Sendable {
    public var started: [RunRecord] = []
    /// Frames by run, each list in `seq` order.
    public var frames: [(runId: String, frames: [RunFrame])] = []
    /// Runs whose last frame is in this batch or an earlier one, with when they ended.
    public var ended: [(runId: String, at: Date)] = []
    /// Agent steps (PROTOCOL §6), in the order they were recorded; their invocation rows exist.
    /// Stored with the frames so an agent step costs its run no write of its own.
    public var steps: [AgentStep] = []

    public init() {}

    public var isEmpty: Bool { started.isEmpty && frames.isEmpty && ended.isEmpty && steps.isEmpty }
    public var frameCount: Int { frames.reduce(0) { $0 + $1.frames.count } }
}
