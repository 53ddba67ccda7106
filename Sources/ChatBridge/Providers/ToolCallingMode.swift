/// How a provider is given tools (settable per provider and per workspace).
public enum ToolCallingMode: String, Sendable, Codable, CaseIterable {
    /// The vendor API's own `tools` field and tool-call events.
    case native
    /// Tools described in the system prompt and calls read from the model's text
    /// (`<tool_call>{…}</tool_call>`), for servers and models without working native tool calls.
    case prompted
    /// Native for the vendors' own APIs (OpenAI, Anthropic, Cohere), prompted for any other
    /// OpenAI-compatible server (the bundled llama.cpp model, Ollama, vLLM…).
    case auto

    /// The mode `auto` stands for with these settings.
    public func resolved(for settings: ProviderSettings) -> ToolCallingMode {
        guard self == .auto else { return self }
        switch settings.kind {
        case .anthropic, .cohere: return .native
        case .openai: return settings.isVendorEndpoint ? .native : .prompted
        }
    }
}
