extension ProviderSettings {
    /// Whether `baseURL` is the vendor's own API rather than a compatible server.
    public var isVendorEndpoint: Bool {
        guard let host = baseURL.split(separator: "/", omittingEmptySubsequences: true).dropFirst().first?
            .split(separator: ":").first?.lowercased() else { return false }
        return host == "api.openai.com" || host.hasSuffix(".openai.azure.com") || host == "api.anthropic.com"
            || host == "api.cohere.com" || host == "api.cohere.ai"
    }
}
