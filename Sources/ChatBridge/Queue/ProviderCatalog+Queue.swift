import CoreMetrics

extension ProviderCatalog {
    /// The queue in front of `provider`: every model call (chat, `/v1`, agent step) takes a ticket here.
    public func queue(for provider: any LLMProvider) -> ProviderQueue {
        // Every vendor kind has a queue (made at init); a provider of another kind (a test double)
        // shares an unlimited one.
        queues[provider.kind] ?? queues[Self.unlimitedKey]!
    }

    static let unlimitedKey = "_unlimited"

    static func makeQueues(_ settings: QueueSettings, metrics: any MetricsFactory) -> [String: ProviderQueue] {
        var queues: [String: ProviderQueue] = [:]
        for kind in ProviderSettings.Kind.allCases {
            queues[kind.rawValue] = ProviderQueue(provider: kind.rawValue, limit: settings.maxConcurrency[kind],
                                                  maxWaiting: settings.maxWaiting, timeout: settings.timeout, metrics: metrics)
        }
        queues[unlimitedKey] = ProviderQueue(provider: "other", limit: nil, maxWaiting: settings.maxWaiting,
                                             timeout: settings.timeout, metrics: metrics)
        return queues
    }
}
