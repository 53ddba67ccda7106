import ChatBridge
import Foundation
import Hummingbird

/// A user as the API shows it: never the password hash.
struct UserRepresentation: ResponseEncodable, Sendable {
    var id: Int64
    var username: String
    var role: User.Role
    @NullEncoded var dailyMessageLimit: Int?
    var suspended: Bool
    var createdAt: Date

    init(_ user: User) {
        id = user.id ?? 0
        username = user.username
        role = user.role
        dailyMessageLimit = user.dailyMessageLimit
        suspended = user.suspended
        createdAt = user.createdAt
    }
}

/// A workspace with every setting of PROTOCOL §3.
struct WorkspaceRepresentation: ResponseEncodable, Sendable {
    var id: Int64
    var name: String
    var slug: String
    var chatMode: Workspace.ChatMode
    @NullEncoded var systemPrompt: String?
    var historyLength: Int
    var queryRefusalResponse: String
    @NullEncoded var provider: String?
    @NullEncoded var model: String?
    @NullEncoded var temperature: Double?
    var agentMaxSteps: Int
    @NullEncoded var agentTools: [String]?
    var topN: Int
    var similarityThreshold: Double
    /// `null`: the provider's mode.
    @NullEncoded var toolCalling: ToolCallingMode?
    /// With `env` and `headers` values masked: secrets are never shown (PROTOCOL §10).
    var mcpServers: [MCPServerConfiguration]
    var createdAt: Date
    var updatedAt: Date

    init(_ workspace: Workspace) {
        id = workspace.id ?? 0
        name = workspace.name
        slug = workspace.slug
        chatMode = workspace.chatMode
        systemPrompt = workspace.systemPrompt
        historyLength = workspace.historyLength
        queryRefusalResponse = workspace.queryRefusalResponse
        provider = workspace.provider
        model = workspace.model
        temperature = workspace.temperature
        agentMaxSteps = workspace.agentMaxSteps
        agentTools = workspace.agentTools
        topN = workspace.topN
        similarityThreshold = workspace.similarityThreshold
        toolCalling = workspace.toolCalling
        mcpServers = (workspace.mcpServers ?? []).map(\.masked)
        createdAt = workspace.createdAt
        updatedAt = workspace.updatedAt
    }
}

struct ThreadRepresentation: ResponseEncodable, Sendable {
    var id: Int64
    var slug: String
    var name: String
    var workspace: String
    @NullEncoded var userId: Int64?
    var createdAt: Date
    var updatedAt: Date

    init(_ thread: ChatThread, workspaceSlug: String) {
        id = thread.id ?? 0
        slug = thread.slug
        name = thread.name
        workspace = workspaceSlug
        userId = thread.userId
        createdAt = thread.createdAt
        updatedAt = thread.updatedAt
    }
}

struct WelcomeMessageRepresentation: ResponseEncodable, Sendable {
    var id: Int64
    @NullEncoded var userId: Int64?
    @NullEncoded var userMessage: String?
    var response: String
    var orderIndex: Int
    var createdAt: Date

    init(_ message: WelcomeMessage) {
        id = message.id ?? 0
        userId = message.userId
        userMessage = message.userMessage
        response = message.response
        orderIndex = message.orderIndex
        createdAt = message.createdAt
    }
}
