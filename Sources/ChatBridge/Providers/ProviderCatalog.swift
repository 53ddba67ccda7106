import AsyncHTTPClient
import CoreMetrics
import Logging

/// Picks the provider and model for a workspace: the server default, or the workspace's override.
public struct ProviderCatalog: Sendable {
    /// Settings per vendor kind; `defaultKind` is used when a workspace names none.
    public var settings: [ProviderSettings.Kind: ProviderSettings]
    public var defaultKind: ProviderSettings.Kind
    let client: HTTPClient
    let logger: Logger
    /// One concurrency limit and fair queue per vendor kind, shared by every path that calls it.
    let queues: [String: ProviderQueue]
    /// Rendered tool prompts of prompted tool calling, shared by every run.
    let toolPrompts = ToolPromptCache()

    public init(defaultSettings: ProviderSettings, others: [ProviderSettings] = [], client: HTTPClient, logger: Logger,
                queue: QueueSettings = QueueSettings(), metrics: any MetricsFactory = NOOPMetricsHandler.instance) {
        var settings: [ProviderSettings.Kind: ProviderSettings] = [:]
        for other in others { settings[other.kind] = other }
        settings[defaultSettings.kind] = defaultSettings
        self.settings = settings
        self.defaultKind = defaultSettings.kind
        self.client = client
        self.logger = logger
        self.queues = Self.makeQueues(queue, metrics: metrics)
    }

    /// The provider and model a workspace uses.
    public func provider(for workspace: Workspace) throws -> (provider: any LLMProvider, model: String) {
        let kind = try workspace.provider.map { name in
            guard let kind = ProviderSettings.Kind(rawValue: name) else {
                throw APIError.validation("Workspace '\(workspace.slug)' names unknown provider '\(name)'.")
            }
            return kind
        } ?? defaultKind
        guard let settings = settings[kind] else {
            throw APIError(.providerError,
                           "Workspace '\(workspace.slug)' uses provider '\(kind.rawValue)', which this server has no settings for; "
                               + "set \(kind.rawValue.uppercased())_API_KEY or AGENTHOST_LLM_PROVIDER=\(kind.rawValue).")
        }
        let model = workspace.model ?? settings.model
        return (withToolCalling(makeProvider(settings), settings: settings, workspace: workspace), model)
    }

    func makeProvider(_ settings: ProviderSettings) -> any LLMProvider {
        switch settings.kind {
        case .openai: OpenAIProvider(settings: settings, client: client, logger: logger)
        case .anthropic: AnthropicProvider(settings: settings, client: client, logger: logger)
        case .cohere: CohereProvider(settings: settings, client: client, logger: logger)
        }
    }
}
