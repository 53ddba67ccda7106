extension ProviderCatalog {
    /// The provider as a workspace uses it: wrapped for prompted tool calling when the workspace's
    /// mode (else the provider's) resolves to `prompted`.
    func withToolCalling(_ provider: any LLMProvider, settings: ProviderSettings, workspace: Workspace) -> any LLMProvider {
        let mode = (workspace.toolCalling ?? settings.toolCalling).resolved(for: settings)
        guard mode == .prompted else { return provider }
        return PromptedToolCallingProvider(wrapping: provider, cache: toolPrompts, constrainDecoding: settings.constrainedDecoding)
    }
}
