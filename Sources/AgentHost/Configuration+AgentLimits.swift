extension Configuration {
    /// The agent engine's cap on one user's concurrent runs (``AgentLimits/maxConcurrentPerUser``), for
    /// `agenthost-bench agent`, which runs hundreds of invocations as its one user. ``AgentLimits`` itself
    /// is internal; when it becomes `package`, `agent` can be set directly and this accessor goes.
    package var agentMaxConcurrentPerUser: Int {
        get { agent.maxConcurrentPerUser }
        set { agent.maxConcurrentPerUser = newValue }
    }
}
