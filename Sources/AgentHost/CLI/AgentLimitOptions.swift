import ArgumentParser

/// Limits of the agent engine and of `ws/agent` connections.
struct AgentLimitOptions: ParsableArguments {
    @Option(name: .customLong("agent-max-runs-per-user"), help: "Agent runs one user may have in progress; beyond is 429 rate_limited. Env: AGENTHOST_AGENT_MAX_RUNS_PER_USER. Default: 4")
    var maxRunsPerUser: Int?

    @Option(name: .customLong("agent-max-steps"), help: "Largest max_steps a run may ask for. Env: AGENTHOST_AGENT_MAX_STEPS. Default: 50")
    var maxSteps: Int?

    @Option(name: .customLong("agent-max-client-tools"), help: "Client tools one run may declare. Env: AGENTHOST_AGENT_MAX_CLIENT_TOOLS. Default: 64")
    var maxClientTools: Int?

    @Option(name: .customLong("agent-resume-grace"), help: "Seconds a run nobody watches waits for a resume before it ends timed_out. Env: AGENTHOST_AGENT_RESUME_GRACE. Default: 120")
    var resumeGrace: Int?

    @Option(name: .customLong("agent-retention"), help: "Seconds a finished run stays replayable in memory. Env: AGENTHOST_AGENT_RETENTION. Default: 300")
    var retention: Int?

    @Option(name: .customLong("ws-agent-max-message-bytes"), help: "Largest ws/agent message; a larger one gets too_large. Env: AGENTHOST_WS_AGENT_MAX_MESSAGE_BYTES. Default: 1048576")
    var maxMessageBytes: Int?

    @Option(name: .customLong("ws-agent-outbound-buffer"), help: "Frames a ws/agent connection may have queued before it is closed as too slow (4001, resumable). Env: AGENTHOST_WS_AGENT_OUTBOUND_BUFFER. Default: 1024")
    var outboundBuffer: Int?

    /// Flags first, then the environment, then the defaults of ``AgentLimits``.
    func limits() throws -> AgentLimits {
        var limits = AgentLimits()
        if let value = try Environment.integer(maxRunsPerUser, "AGENTHOST_AGENT_MAX_RUNS_PER_USER", in: 1...10_000) {
            limits.maxConcurrentPerUser = value
        }
        if let value = try Environment.integer(maxSteps, "AGENTHOST_AGENT_MAX_STEPS", in: 1...1000) { limits.maxStepsCap = value }
        if let value = try Environment.integer(maxClientTools, "AGENTHOST_AGENT_MAX_CLIENT_TOOLS", in: 0...1000) {
            limits.maxClientTools = value
        }
        if let value = try Environment.integer(resumeGrace, "AGENTHOST_AGENT_RESUME_GRACE", in: 1...86_400) {
            limits.resumeGrace = .seconds(value)
        }
        if let value = try Environment.integer(retention, "AGENTHOST_AGENT_RETENTION", in: 0...86_400) {
            limits.retention = .seconds(value)
        }
        if let value = try Environment.integer(maxMessageBytes, "AGENTHOST_WS_AGENT_MAX_MESSAGE_BYTES", in: 1024...(64 << 20)) {
            limits.maxFrameBytes = value
        }
        if let value = try Environment.integer(outboundBuffer, "AGENTHOST_WS_AGENT_OUTBOUND_BUFFER", in: 16...1_000_000) {
            limits.outboundBuffer = value
        }
        return limits
    }
}
