import ChatBridge
import Foundation

/// `search_documents`: the passages of the workspace's documents that best match a query, through
/// the same retriever (and the same `similarity_threshold`) that grounds chats.
public struct SearchDocumentsTool: Tool {
    public static let toolName = "search_documents"
    public static let defaultLimit = 5
    public static let maximumLimit = 10

    public var name: String { Self.toolName }

    public init() {}

    /// Arguments `{"query": string, "limit"?: 1...10}`; result `{"results": [{"document_id", "title",
    /// "heading", "chunk", "score"}]}`, best first.
    public func run(arguments: JSONValue, context: ToolContext) async throws -> JSONValue {
        guard let query = arguments["query"]?.stringValue,
              !query.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty
        else {
            throw ToolError("search_documents needs a non-empty string argument 'query' (what to look for)")
        }
        guard let documents = context.documents else {
            throw ToolError("Document search is not available on this server.")
        }
        let limit = min(max(arguments["limit"]?.intValue ?? Self.defaultLimit, 1), Self.maximumLimit)
        let hits = try await documents.searchDocuments(query: query, workspaceId: context.workspaceId, limit: limit)
        let results: [JSONValue] = hits.map { hit in
            [
                "document_id": .number(Double(hit.documentId)),
                "title": .string(hit.documentName),
                "heading": hit.heading.map { .string($0) } ?? .null,
                "chunk": .string(hit.text),
                "score": .number(hit.source.score),
            ]
        }
        return ["results": .array(results)]
    }
}
