import ChatBridge
import Foundation

/// `search_chats`: finds earlier exchanges of the workspace that the caller may see.
public struct SearchChatsTool: Tool {
    public static let toolName = "search_chats"
    public static let defaultLimit = 5
    public static let maximumLimit = 20
    /// Longer prompts and responses are cut to this many characters to keep the model's context small.
    public static let excerptLength = 500

    public var name: String { Self.toolName }

    public init() {}

    /// Arguments `{"query": string, "limit"?: 1...20}`; result `{"results": [{"db_id", "prompt",
    /// "response", "created_at"}]}`, newest first.
    public func run(arguments: JSONValue, context: ToolContext) async throws -> JSONValue {
        guard let query = arguments["query"]?.stringValue,
              !query.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty
        else {
            throw ToolError("search_chats needs a non-empty string argument 'query' (words to look for)")
        }
        // Clamped as well as validated: the store must never be asked for an unbounded page.
        let limit = min(max(arguments["limit"]?.intValue ?? Self.defaultLimit, 1), Self.maximumLimit)
        let chats = try await context.chats.searchChats(
            workspaceId: context.workspaceId, text: query, viewer: context.viewer, limit: limit
        )
        let results: [JSONValue] = chats.map { chat in
            [
                "db_id": chat.id.map { .number(Double($0)) } ?? .null,
                "prompt": .string(Self.excerpt(chat.prompt)),
                "response": .string(Self.excerpt(chat.response)),
                "created_at": .string(Timestamp.string(from: chat.createdAt)),
            ]
        }
        return ["results": .array(results)]
    }

    /// `text` cut to ``excerptLength`` characters, marked with `…` when cut.
    static func excerpt(_ text: String) -> String {
        guard text.count > excerptLength else { return text }
        return String(text.prefix(excerptLength)) + "…"
    }
}
