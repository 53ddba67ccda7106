import ChatBridge
import Foundation

/// AG-UI's `RunAgentInput`, the body of `POST /api/agui/{workspace}` (camelCase, as AG-UI clients
/// send it). `state`, `forwardedProps`, `parentRunId` and `resume` are accepted and not used.
struct RunAgentInput: Decodable, Sendable {
    struct Message: Decodable, Sendable {
        var id: String?
        var role: String
        /// A string, or (user and tool messages) an array of parts of which the `text` ones count.
        var content: JSONValue?
        var toolCallId: String?
        /// A tool message's error (AG-UI `ToolMessage.error`): the call failed on the client.
        var error: String?
    }

    /// A frontend tool: executed by the client.
    struct Tool: Decodable, Sendable {
        var name: String
        var description: String?
        var parameters: JSONValue?
    }

    struct Context: Decodable, Sendable {
        var description: String
        var value: String
    }

    var threadId: String
    var runId: String
    var messages: [Message]
    var tools: [Tool]?
    var context: [Context]?
    var state: JSONValue?
    var forwardedProps: JSONValue?
    var parentRunId: String?

    /// What the run does with the conversation the client sent.
    enum Turn: Sendable {
        /// A new user message: the run answers it, with the thread's history from storage.
        case message(String)
        /// Results of the frontend calls the thread's latest run handed back, by call id.
        case toolResults([String: AgentEngine.ToolResult])
    }

    /// `runId` becomes the agent invocation's id; `threadId` names our thread.
    static let runIdPattern = #"^[A-Za-z0-9._:-]{1,128}$"#
    static let maxThreadIdLength = 200

    /// Validates the ids and reads the turn from the end of `messages`: the last message is the
    /// user's new one, or the trailing tool messages answer pending frontend calls. The rest of the
    /// client's copy of the conversation is not trusted: history comes from storage.
    func validatedTurn() throws -> Turn {
        guard runId.range(of: Self.runIdPattern, options: .regularExpression) != nil else {
            throw APIError.validation("runId must be 1-128 letters, digits, '.', '_', ':' or '-'; got '\(runId.prefix(140))'.")
        }
        guard !threadId.isEmpty, threadId.count <= Self.maxThreadIdLength else {
            throw APIError.validation("threadId must be 1-\(Self.maxThreadIdLength) characters.")
        }
        guard let last = messages.last else {
            throw APIError.validation("messages must not be empty: send the user's message, or the results of the pending tool calls.")
        }
        switch last.role {
        case "user":
            let text = Self.text(of: last.content).trimmingCharacters(in: .whitespacesAndNewlines)
            guard !text.isEmpty else { throw APIError.validation("The last user message has no text.") }
            return .message(text)
        case "tool":
            var results: [String: AgentEngine.ToolResult] = [:]
            for message in messages.reversed() {
                guard message.role == "tool" else { break }
                guard let callId = message.toolCallId, !callId.isEmpty else {
                    throw APIError.validation("Tool message '\(message.id ?? "")' has no toolCallId.")
                }
                let text = Self.text(of: message.content)
                var output: JSONValue = (try? JSONValue(parsing: text)) ?? .string(text)
                if let error = message.error, text.isEmpty { output = ["error": .string(error)] }
                results[callId] = results[callId] ?? AgentEngine.ToolResult(output: output, isError: message.error != nil)
            }
            return .toolResults(results)
        default:
            throw APIError.validation(
                "The last message must be the user's (a new turn) or tool results (continuing a run that handed frontend tool calls back); got role '\(last.role)'.")
        }
    }

    /// AG-UI `context` entries as instructions for the agent.
    var contextInstructions: String? {
        guard let context, !context.isEmpty else { return nil }
        return "Context from the application:\n" + context.map { "- \($0.description): \($0.value)" }.joined(separator: "\n")
    }

    /// The context's size (the frontend tools are checked as the engine's client tools).
    func validateContext(maxCharacters: Int) throws {
        if let instructions = contextInstructions, instructions.count > maxCharacters {
            throw APIError.validation("context is \(instructions.count) characters; at most \(maxCharacters) are accepted (--agui-max-context-chars).")
        }
    }

    /// The frontend tools as the engine's client tools.
    var clientTools: [AgentInvokeRequest.ClientTool] {
        (tools ?? []).map { tool in
            AgentInvokeRequest.ClientTool(name: tool.name, description: tool.description, parameters: tool.parameters)
        }
    }

    static func text(of content: JSONValue?) -> String {
        switch content {
        case .string(let text)?: text
        case .array(let parts)?: parts.compactMap { $0["type"]?.stringValue == "text" ? $0["text"]?.stringValue : nil }.joined()
        default: ""
        }
    }
}
