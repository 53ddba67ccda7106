import ArgumentParser

/// The AG-UI endpoint (PROTOCOL §10).
struct AGUIOptions: ParsableArguments {
    @Option(name: .customLong("agui-max-context-chars"), help: "Characters of AG-UI `context` one run may add to the agent's instructions; more is 400 validation_failed. Env: AGENTHOST_AGUI_MAX_CONTEXT_CHARS. Default: 20000")
    var maxContextCharacters: Int?

    /// Flags first, then the environment, then defaults.
    func settings() throws -> AGUISettings {
        var settings = AGUISettings()
        if let value = try Environment.integer(maxContextCharacters, "AGENTHOST_AGUI_MAX_CONTEXT_CHARS", in: 0...1_000_000) {
            settings.maxContextCharacters = value
        }
        return settings
    }
}
