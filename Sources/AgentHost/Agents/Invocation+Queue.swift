import ChatBridge

extension Invocation {
    /// `agent_queued {position, step}` (PROTOCOL §6): the step waits for a provider slot; position 1 is next.
    func emitQueued(position: Int, step: Int) {
        emit("agent_queued", ["position": .number(Double(position)), "step": .number(Double(step))])
    }
}
