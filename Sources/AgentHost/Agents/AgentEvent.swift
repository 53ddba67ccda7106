import ChatBridge

/// One server → client frame of an invocation (PROTOCOL §6), numbered by `seq` within it.
struct AgentEvent: Sendable, Equatable {
    let seq: Int
    /// The frame's fields besides `type`, `invocation_id` and `seq`.
    let type: String
    let fields: [String: JSONValue]

    func json(invocationId: String) -> JSONValue {
        var object = fields
        object["type"] = .string(type)
        object["invocation_id"] = .string(invocationId)
        object["seq"] = .number(Double(seq))
        return .object(object)
    }

    /// Whether this frame ends the invocation.
    var isTerminal: Bool { type == "agent_complete" }

    /// The `call_id` of a `tool_call` frame.
    var callId: String? { fields["call_id"]?.stringValue }
}
