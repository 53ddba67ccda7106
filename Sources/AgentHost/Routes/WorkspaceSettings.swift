import ChatBridge
import Foundation

/// The settings of a workspace as a create or PATCH body sends them. One type for both, so both
/// validate the same way; a field left out keeps its current (or default) value.
struct WorkspaceSettings: Decodable, Sendable {
    static let providers = ["openai", "anthropic", "cohere"]

    var name: PatchField<String>
    var chatMode: PatchField<Workspace.ChatMode>
    var systemPrompt: PatchField<String>
    var historyLength: PatchField<Int>
    var queryRefusalResponse: PatchField<String>
    var provider: PatchField<String>
    var model: PatchField<String>
    var temperature: PatchField<Double>
    var agentMaxSteps: PatchField<Int>
    var agentTools: PatchField<[String]>
    var topN: PatchField<Int>
    var similarityThreshold: PatchField<Double>
    var toolCalling: PatchField<String>
    /// Validated by ``applyMCPServers(to:limits:)``, which needs the server's limits.
    var mcpServers: PatchField<[MCPServerConfiguration]>

    enum CodingKeys: String, CodingKey {
        case name, chatMode, systemPrompt, historyLength, queryRefusalResponse, provider, model, temperature,
             agentMaxSteps, agentTools, topN, similarityThreshold, toolCalling, mcpServers
    }

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        name = try container.decodePatch(String.self, forKey: .name)
        chatMode = try container.decodePatch(Workspace.ChatMode.self, forKey: .chatMode)
        systemPrompt = try container.decodePatch(String.self, forKey: .systemPrompt)
        historyLength = try container.decodePatch(Int.self, forKey: .historyLength)
        queryRefusalResponse = try container.decodePatch(String.self, forKey: .queryRefusalResponse)
        provider = try container.decodePatch(String.self, forKey: .provider)
        model = try container.decodePatch(String.self, forKey: .model)
        temperature = try container.decodePatch(Double.self, forKey: .temperature)
        agentMaxSteps = try container.decodePatch(Int.self, forKey: .agentMaxSteps)
        agentTools = try container.decodePatch([String].self, forKey: .agentTools)
        topN = try container.decodePatch(Int.self, forKey: .topN)
        similarityThreshold = try container.decodePatch(Double.self, forKey: .similarityThreshold)
        toolCalling = try container.decodePatch(String.self, forKey: .toolCalling)
        mcpServers = try container.decodePatch([MCPServerConfiguration].self, forKey: .mcpServers)
    }

    /// A new workspace from a create body; `name` is required.
    func makeWorkspace() throws -> Workspace {
        guard case .value = name else { throw APIError.validation("Missing required field 'name'.") }
        var workspace = Workspace(name: "", slug: "")
        try apply(to: &workspace)
        return workspace
    }

    /// Applies every field that was sent, validating each.
    func apply(to workspace: inout Workspace) throws {
        if let name = try required(name, "name", current: workspace.name) {
            let trimmed = name.trimmingCharacters(in: .whitespacesAndNewlines)
            guard (1...200).contains(trimmed.count) else {
                throw APIError.validation("Field 'name' must be 1 to 200 characters.")
            }
            workspace.name = trimmed
        }
        if let mode = try required(chatMode, "chat_mode", current: workspace.chatMode) { workspace.chatMode = mode }
        workspace.systemPrompt = systemPrompt.applied(to: workspace.systemPrompt)
        if let length = try required(historyLength, "history_length", current: workspace.historyLength) {
            try check(length, in: 0...1000, "history_length")
            workspace.historyLength = length
        }
        if let refusal = queryRefusalResponse.applied(to: workspace.queryRefusalResponse) {
            workspace.queryRefusalResponse = refusal
        } else {
            workspace.queryRefusalResponse = Workspace.defaultQueryRefusalResponse
        }
        workspace.provider = provider.applied(to: workspace.provider)
        if let provider = workspace.provider, !Self.providers.contains(provider) {
            throw APIError.validation(
                "Field 'provider' must be one of \(Self.providers.joined(separator: ", ")); got '\(provider)'.")
        }
        workspace.model = model.applied(to: workspace.model)
        workspace.temperature = temperature.applied(to: workspace.temperature)
        if let temperature = workspace.temperature, !(0...2).contains(temperature) {
            throw APIError.validation("Field 'temperature' must be from 0 to 2.")
        }
        if let steps = try required(agentMaxSteps, "agent_max_steps", current: workspace.agentMaxSteps) {
            try check(steps, in: 1...100, "agent_max_steps")
            workspace.agentMaxSteps = steps
        }
        workspace.agentTools = agentTools.applied(to: workspace.agentTools)
        if let topN = try required(topN, "top_n", current: workspace.topN) {
            try check(topN, in: 1...50, "top_n")
            workspace.topN = topN
        }
        if let threshold = try required(similarityThreshold, "similarity_threshold", current: workspace.similarityThreshold) {
            guard (0...1).contains(threshold) else {
                throw APIError.validation("Field 'similarity_threshold' must be from 0 to 1.")
            }
            workspace.similarityThreshold = threshold
        }
        if let mode = toolCalling.applied(to: workspace.toolCalling?.rawValue) {
            guard let parsed = ToolCallingMode(rawValue: mode) else {
                throw APIError.validation("Field 'tool_calling' must be one of native, prompted, auto; got '\(mode)'.")
            }
            workspace.toolCalling = parsed
        } else {
            workspace.toolCalling = nil
        }
    }

    /// The new value of a setting that cannot be null; `nil` when it was left out.
    private func required<Value>(_ field: PatchField<Value>, _ name: String, current: Value) throws -> Value? {
        switch field {
        case .absent: return nil
        case .null: throw APIError.validation("Field '\(name)' must not be null.")
        case .value(let value): return value
        }
    }

    private func check(_ value: Int, in range: ClosedRange<Int>, _ name: String) throws {
        guard range.contains(value) else {
            throw APIError.validation("Field '\(name)' must be from \(range.lowerBound) to \(range.upperBound); got \(value).")
        }
    }
}
