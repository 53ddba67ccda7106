import ChatBridge
import Foundation

/// `search_documents`: the passages of the caller's own documents in the workspace that best match
/// a query, through the same retriever (and the same `similarity_threshold`) that grounds chats.
///
/// The search is given to the tool when it is made (see ``ToolRegistry/bindingDocumentSearch(to:)``),
/// so the agent searches exactly as chats do, with the retriever the server was built with.
public struct SearchDocumentsTool: Tool {
    public static let toolName = "search_documents"
    public static let defaultLimit = 5
    public static let maximumLimit = 10

    public var name: String { Self.toolName }
    /// `nil` where documents are unavailable; the model is told so.
    public let documents: (any DocumentSearching)?

    public init(documents: (any DocumentSearching)? = nil) {
        self.documents = documents
    }

    /// Arguments `{"query": string, "limit"?: 1...10}`; result `{"results": [{"document_id", "title",
    /// "heading", "chunk", "score"}]}`, best first, from the documents of the context's viewer only
    /// (administrators included: retrieval is about one's own documents, like history).
    public func run(arguments: JSONValue, context: ToolContext) async throws -> JSONValue {
        guard let query = arguments["query"]?.stringValue,
              !query.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty
        else {
            throw ToolError("search_documents needs a non-empty string argument 'query' (what to look for)")
        }
        guard let documents else {
            throw ToolError("Document search is not available on this server.")
        }
        let limit = min(max(arguments["limit"]?.intValue ?? Self.defaultLimit, 1), Self.maximumLimit)
        let hits = try await documents.searchDocuments(query: query, workspaceId: context.workspaceId,
                                                       ownerId: context.viewer.userId, limit: limit)
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

extension ToolRegistry {
    /// This registry with `search_documents` searching `documents`; unchanged when it has no such tool.
    ///
    /// The composition root calls it with the retriever chats use, so the tool gets its dependency
    /// injected rather than looking it up.
    public func bindingDocumentSearch(to documents: any DocumentSearching) -> ToolRegistry {
        guard tool(named: SearchDocumentsTool.toolName) != nil else { return self }
        let tools = names.compactMap { tool(named: $0) }.map { tool -> any Tool in
            tool.name == SearchDocumentsTool.toolName ? SearchDocumentsTool(documents: documents) : tool
        }
        do {
            return try ToolRegistry(specs: specs, tools: tools)
        } catch {
            // The same specs and names passed the same checks when this registry was made.
            preconditionFailure("Re-pairing the tools of a valid registry failed: \(error)")
        }
    }
}
