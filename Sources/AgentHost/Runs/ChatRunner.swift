import ChatBridge

/// Starts chat generations (SSE, `ws/chat`, `/v1`) as runs: the shared pipeline executes as a task
/// of the ``RunService``, and its frames are published to the run, so they are logged and any
/// number of connections can watch, leave and resume.
struct ChatRunner: Sendable {
    let pipeline: ChatPipeline
    let runs: RunService
    /// How long a finished `ws/chat` generation stays in memory for fast resumes (then it replays from the log).
    let keepInMemory: Duration

    /// Starts the generation of `prepared`, watched from its first frame by `watchers` (an SSE
    /// stream ends with the run). `frameExtra` fields go into every frame (the room's `user` tag); `whileQueued` runs about once a second while the chat waits for a provider slot;
    /// `also` sees every frame as it is published (`/v1` translates them); `whenDone` runs once the
    /// generation has ended and been stored.
    @discardableResult
    func start(_ prepared: PreparedChat, transport: String, room: RoomKey? = nil, frameExtra: [String: JSONValue] = [:],
               watchers: [Outbox] = [], endsWithRun: Bool = false, whileQueued: @escaping @Sendable () -> Void = {},
               also: (@Sendable (ChatFrame) -> Void)? = nil,
               whenDone: @escaping @Sendable (ChatCompletion) -> Void) -> LiveRun {
        let record = RunRecord(id: prepared.chatId, kind: .chat, workspaceId: prepared.workspace.id!, userId: prepared.chat.userId,
                               frameExtra: .object(frameExtra), room: room?.description)
        let run = LiveRun(record: record, room: room, log: runs.log)
        for watcher in watchers { run.attach(watcher, after: -1, endsWithRun: endsWithRun) }
        let pipeline = pipeline
        let sortedExtra = frameExtra.sorted { $0.key < $1.key }
        // A room's generations stay in memory for the members' quick resumes; an SSE or /v1 stream's
        // watcher is the one request, and a later replay reads the log.
        runs.submit(run, keepInMemory: room == nil ? .zero : keepInMemory) {
            let completion = await pipeline.run(prepared, transport: transport, whileQueued: whileQueued) { frame in
                run.publish(frame, sortedExtra: sortedExtra)
                also?(frame)
            }
            whenDone(completion)
        }
        return run
    }
}

extension LiveRun {
    /// Publishes a frame of a chat generation, with the stream's extra fields sorted by key;
    /// `chat_complete` and `error` end it.
    @discardableResult
    func publish(_ frame: ChatFrame, sortedExtra: [(key: String, value: JSONValue)]) -> RunFrame {
        let terminal: Bool = switch frame.kind {
        case .complete, .error: true
        case .start, .queued, .token, .sources: false
        }
        return publish(terminal: terminal) { seq in
            var frame = frame
            frame.seq = seq
            return RunFrame(seq: seq, type: frame.type, json: frame.serialized(sortedExtra: sortedExtra))
        }
    }
}
