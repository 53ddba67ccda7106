/// Where an agent run stands according to its logged frames: what start-up repair and the restart
/// of a waiting run read (PROTOCOL §8).
public struct AgentLogState: Sendable {
    public private(set) var lastSeq = -1
    public private(set) var hasEnded = false
    /// The latest model step any frame names.
    public private(set) var lastStep = 0
    /// The text the latest step's model streamed so far.
    public private(set) var lastStepText = ""
    /// Client calls sent (`tool_call`, executor client) and not answered, by call id.
    public private(set) var pendingClientCalls: [String: AgentToolCall] = [:]
    /// Calls that await approval (`approval_required` with no `tool_call` or result since), by call id.
    public private(set) var pendingApprovals: [String: AgentToolCall] = [:]
    /// Server calls that started and have no result: their work died with the process.
    public private(set) var runningServerCalls: Set<String> = []
    /// Every result logged, by call id.
    public private(set) var results: [String: AgentToolResult] = [:]
    /// The frames of every pending call, in `seq` order (sent again on `resume`).
    public private(set) var pendingFrames: [String: RunFrame] = [:]

    public init(frames: [RunFrame]) {
        for frame in frames { apply(frame) }
    }

    /// Whether the run only waits on its client (answers or approvals) with nothing of its own in
    /// flight: such a run can continue in a new process.
    public var isWaitingOnClient: Bool {
        !hasEnded && runningServerCalls.isEmpty && !(pendingClientCalls.isEmpty && pendingApprovals.isEmpty)
            && (pendingClientCalls.values.map(\.step) + pendingApprovals.values.map(\.step)).allSatisfy { $0 == lastStep }
    }

    private mutating func apply(_ frame: RunFrame) {
        lastSeq = max(lastSeq, frame.seq)
        guard let object = frame.object else { return }
        if let step = object["step"]?.intValue, step > lastStep {
            lastStep = step
            lastStepText = ""
        }
        switch frame.type {
        case "agent_token":
            lastStepText += object["token"]?.stringValue ?? ""
        case "approval_required":
            guard let call = AgentToolCall(frame: object) else { return }
            pendingApprovals[call.callId] = call
            pendingFrames[call.callId] = frame
        case "tool_call":
            guard let call = AgentToolCall(frame: object) else { return }
            pendingApprovals.removeValue(forKey: call.callId)
            pendingFrames.removeValue(forKey: call.callId)
            if call.executor == "client" {
                pendingClientCalls[call.callId] = call
                pendingFrames[call.callId] = frame
            } else {
                runningServerCalls.insert(call.callId)
            }
        case "tool_result":
            guard let callId = object["call_id"]?.stringValue else { return }
            pendingApprovals.removeValue(forKey: callId)
            pendingClientCalls.removeValue(forKey: callId)
            runningServerCalls.remove(callId)
            pendingFrames.removeValue(forKey: callId)
            results[callId] = AgentToolResult(
                callId: callId, name: object["name"]?.stringValue ?? "", output: object["output"] ?? .null,
                isError: object["is_error"]?.boolValue ?? false, durationMilliseconds: object["duration_ms"]?.doubleValue ?? 0)
        case "agent_complete":
            hasEnded = true
        default:
            break
        }
    }
}
