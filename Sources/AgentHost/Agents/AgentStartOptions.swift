/// How a transport wants a run started, beyond what the client asked (``AgentInvokeRequest``).
struct AgentStartOptions: Sendable {
    /// The run's id, when the transport's client names its runs (AG-UI's `runId`); else a new UUID.
    var id: String?
    /// Client tool calls end the run instead of being waited for (AG-UI's frontend tools: the run
    /// finishes with the pending calls and the client's next run carries their results).
    var handsBackClientCalls = false
    /// Instructions the transport adds to the agent's system prompt (AG-UI's `context`).
    var instructions: String?
}
