import ChatBridge

extension AgentEvent {
    /// The event a logged agent frame carries: the inverse of ``AgentEvent/frame(invocationId:seq:)``,
    /// so transports that speak another vocabulary (AG-UI) translate the typed event, live or
    /// replayed, rather than the JSON. `nil` for a frame that is not an agent event.
    init?(frame: RunFrame) {
        guard let object = frame.object else { return nil }
        switch frame.type {
        case "agent_start":
            guard let workspace = object["workspace"]?.stringValue else { return nil }
            self = .start(thread: object["thread"]?.stringValue, workspace: workspace,
                          maxSteps: object["max_steps"]?.intValue ?? 0, requestId: object["request_id"]?.stringValue)
        case "agent_queued":
            self = .queued(position: object["position"]?.intValue ?? 0, step: object["step"]?.intValue ?? 0)
        case "agent_token":
            self = .token(object["token"]?.stringValue ?? "", step: object["step"]?.intValue ?? 0)
        case "sources":
            let sources = (object["sources"]?.arrayValue ?? []).map { source in
                ChatSource(title: source["title"]?.stringValue ?? "", chunk: source["chunk"]?.stringValue ?? "",
                           score: source["score"]?.doubleValue ?? 0, documentId: source["document_id"]?.intValue.map(Int64.init))
            }
            self = .sources(sources, step: object["step"]?.intValue ?? 0)
        case "approval_required":
            guard let call = AgentToolCall(frame: object) else { return nil }
            self = .approvalRequired(call)
        case "tool_call":
            guard let call = AgentToolCall(frame: object) else { return nil }
            self = .toolCall(call)
        case "tool_result":
            guard let callId = object["call_id"]?.stringValue else { return nil }
            self = .toolResult(AgentToolResult(callId: callId, name: object["name"]?.stringValue ?? "", output: object["output"] ?? .null,
                                               isError: object["is_error"]?.boolValue ?? false,
                                               durationMilliseconds: object["duration_ms"]?.doubleValue ?? 0))
        case "error":
            let code = object["code"]?.stringValue.flatMap(APIError.Code.init(rawValue:)) ?? .internal
            self = .error(APIError(code, object["message"]?.stringValue ?? ""))
        case "agent_complete":
            guard let status = object["status"]?.stringValue.flatMap(AgentInvocation.Status.init(rawValue:)) else { return nil }
            let usage = object["usage"]
            self = .complete(AgentCompletion(
                status: status, response: object["response"]?.stringValue ?? "", dbId: Int64(object["db_id"]?.intValue ?? 0),
                steps: object["steps"]?.intValue ?? 0,
                usage: Usage(promptTokens: usage?["prompt_tokens"]?.intValue ?? 0, completionTokens: usage?["completion_tokens"]?.intValue ?? 0),
                durationMilliseconds: object["duration_ms"]?.doubleValue ?? 0))
        default:
            return nil
        }
    }
}
