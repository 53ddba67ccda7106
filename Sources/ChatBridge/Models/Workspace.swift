import Foundation
import GRDB

/// A configured place to chat: its prompt, its model and the rules of its context.
public struct Workspace: Codable, Sendable, Equatable, Identifiable {
    public enum ChatMode: String, Codable, Sendable, CaseIterable {
        case chat
        case query
    }

    public static let defaultHistoryLength = 20
    public static let defaultAgentMaxSteps = 10
    public static let defaultQueryRefusalResponse =
        "There is no relevant information in this workspace to answer your query."

    public var id: Int64?
    public var name: String
    public var slug: String
    public var chatMode: ChatMode
    public var systemPrompt: String?
    public var historyLength: Int
    public var queryRefusalResponse: String
    /// Provider kind (`openai`, `anthropic`, `cohere`); `nil` uses the server default.
    public var provider: String?
    /// Model name; `nil` uses the server default.
    public var model: String?
    public var temperature: Double?
    public var agentMaxSteps: Int
    /// Server tools an agent of this workspace may use; `nil` means every registered tool.
    public var agentTools: [String]?
    public var topN: Int
    public var similarityThreshold: Double
    /// How the agent gives tools to the model; `nil` uses the provider's setting.
    public var toolCalling: ToolCallingMode?
    /// MCP servers whose tools this workspace's agents get (PROTOCOL §10); `nil` when none.
    public var mcpServers: [MCPServerConfiguration]?
    public var createdAt: Date
    public var updatedAt: Date

    public init(
        id: Int64? = nil, name: String, slug: String, chatMode: ChatMode = .chat, systemPrompt: String? = nil,
        historyLength: Int = Workspace.defaultHistoryLength,
        queryRefusalResponse: String = Workspace.defaultQueryRefusalResponse,
        provider: String? = nil, model: String? = nil, temperature: Double? = nil,
        agentMaxSteps: Int = Workspace.defaultAgentMaxSteps, agentTools: [String]? = nil,
        topN: Int = 4, similarityThreshold: Double = 0.25, toolCalling: ToolCallingMode? = nil,
        mcpServers: [MCPServerConfiguration]? = nil,
        createdAt: Date = Timestamp.now(), updatedAt: Date = Timestamp.now()
    ) {
        self.id = id
        self.name = name
        self.slug = slug
        self.chatMode = chatMode
        self.systemPrompt = systemPrompt
        self.historyLength = historyLength
        self.queryRefusalResponse = queryRefusalResponse
        self.provider = provider
        self.model = model
        self.temperature = temperature
        self.agentMaxSteps = agentMaxSteps
        self.agentTools = agentTools
        self.topN = topN
        self.similarityThreshold = similarityThreshold
        self.toolCalling = toolCalling
        self.mcpServers = mcpServers
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }
}

extension Workspace: FetchableRecord, MutablePersistableRecord, SnakeCaseColumns {
    public static let databaseTableName = "workspaces"

    public mutating func didInsert(_ inserted: InsertionSuccess) {
        id = inserted.rowID
    }
}
