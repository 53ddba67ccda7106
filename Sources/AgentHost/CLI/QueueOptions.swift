import ArgumentParser
import ChatBridge
import Foundation

/// Per-provider concurrency limits and the fair queue in front of them (PROTOCOL §4 queuing).
struct QueueOptions: ParsableArguments {
    @Option(name: .customLong("llm-max-concurrency"), help: "Concurrent requests per provider: N for the default provider, or a list like 'openai=8,anthropic=4,embeddings=2' (0 = unlimited). Env: AGENTHOST_LLM_MAX_CONCURRENCY. Default: unlimited for remote vendors, --local-model-slots for a model server on this machine")
    var llmMaxConcurrency: String?

    @Option(name: .customLong("local-model-slots"), help: "Parallel slots of the local model server (the default provider when its URL is on loopback). Env: AGENTHOST_LOCAL_MODEL_SLOTS. Default: 1")
    var localModelSlots: Int?

    @Option(name: .customLong("queue-max"), help: "Requests that may wait for a slot per provider; beyond that 503 overloaded. Env: AGENTHOST_QUEUE_MAX. Default: 256")
    var queueMax: Int?

    @Option(name: .customLong("queue-timeout"), help: "Seconds a request may wait for a slot before it fails overloaded. Env: AGENTHOST_QUEUE_TIMEOUT. Default: 120")
    var queueTimeout: Int?

    /// Flags first, then the environment, then defaults; `defaultProvider` decides the local-model default.
    func settings(defaultProvider: ProviderSettings) throws -> QueueSettings {
        var settings = QueueSettings()
        if let max = try Environment.integer(queueMax, "AGENTHOST_QUEUE_MAX", in: 0...Int.max) {
            settings.maxWaiting = max
        }
        if let seconds = try Environment.integer(queueTimeout, "AGENTHOST_QUEUE_TIMEOUT", in: 1...Int.max) {
            settings.timeout = .seconds(seconds)
        }
        if LoopbackAddress.contains(hostOf: defaultProvider.baseURL) {
            settings.maxConcurrency[defaultProvider.kind] = try Environment.integer(
                localModelSlots, "AGENTHOST_LOCAL_MODEL_SLOTS", in: 1...Int.max) ?? 1
        }
        if let text = llmMaxConcurrency ?? Environment.value("AGENTHOST_LLM_MAX_CONCURRENCY") {
            for (target, limit) in try Self.parseLimits(text, defaultKind: defaultProvider.kind) {
                switch target {
                case .provider(let kind): settings.maxConcurrency[kind] = limit
                case .embeddings: settings.embeddingsMaxConcurrency = limit
                }
            }
        }
        return settings
    }

    /// What a `--llm-max-concurrency` entry limits.
    enum LimitTarget: Equatable {
        case provider(ProviderSettings.Kind)
        /// The embeddings provider (`--embeddings-base-url`).
        case embeddings
    }

    /// `N` (the default provider) or `kind=N,kind=N` (`embeddings=N` for the embeddings provider);
    /// 0 means unlimited (`nil`).
    static func parseLimits(_ text: String, defaultKind: ProviderSettings.Kind) throws -> [(LimitTarget, Int?)] {
        try text.split(separator: ",").map { entry in
            let parts = entry.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            let target: LimitTarget
            let number: String
            if parts.count == 2 {
                if parts[0] == "embeddings" {
                    target = .embeddings
                } else if let parsed = ProviderSettings.Kind(rawValue: parts[0]) {
                    target = .provider(parsed)
                } else {
                    throw ValidationError("Unknown provider '\(parts[0])' in --llm-max-concurrency; use openai, anthropic, cohere or embeddings.")
                }
                number = parts[1]
            } else {
                (target, number) = (.provider(defaultKind), parts[0])
            }
            guard let limit = Int(number), limit >= 0 else {
                throw ValidationError("--llm-max-concurrency takes N or provider=N with N ≥ 0; got '\(entry)'.")
            }
            return (target, limit == 0 ? nil : limit)
        }
    }
}
