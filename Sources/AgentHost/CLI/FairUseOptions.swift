import ArgumentParser

/// Fair use: caps on the chat generations a user, and a `ws/chat` connection, may run at once.
struct FairUseOptions: ParsableArguments {
    @Option(name: .customLong("max-generations-per-user"), help: "Chat generations (ws/chat, SSE, /v1) one user may have in flight; beyond is 429 rate_limited. Env: AGENTHOST_MAX_GENERATIONS_PER_USER. Default: 8")
    var maxGenerationsPerUser: Int?

    @Option(name: .customLong("max-generations-per-socket"), help: "Chat generations one ws/chat connection may have in flight. Env: AGENTHOST_MAX_GENERATIONS_PER_SOCKET. Default: 4")
    var maxGenerationsPerSocket: Int?

    /// Flags first, then the environment, then defaults.
    func settings() throws -> FairUseSettings {
        var settings = FairUseSettings()
        if let value = try Environment.integer(maxGenerationsPerUser, "AGENTHOST_MAX_GENERATIONS_PER_USER", in: 1...Int.max) {
            settings.maxGenerationsPerUser = value
        }
        if let value = try Environment.integer(maxGenerationsPerSocket, "AGENTHOST_MAX_GENERATIONS_PER_SOCKET", in: 1...Int.max) {
            settings.maxGenerationsPerSocket = value
        }
        return settings
    }
}
