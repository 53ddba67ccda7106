import ChatBridge
import Foundation
import Synchronization
import Tools

/// Everything one run needs, fixed when it starts (or when it is continued after a restart).
struct AgentRun: Sendable {
    let invocation: Invocation
    let record: AgentInvocation
    let workspace: Workspace
    let viewer: Viewer
    /// The chat row that receives the final answer (stored with the prompt before the model is called).
    let chat: Chat
    let provider: any LLMProvider
    let model: String
    /// The conversation so far: the pipeline's context (system prompt with documents, history,
    /// the user's message), and for a continued run the steps it already took.
    let messages: [LLMMessage]
    /// Tools offered to the model, by name.
    let tools: [String: ToolSpec]
    let firstToolChoice: ToolChoice
    let maxSteps: Int
    let started: ContinuousClock.Instant
    /// The provider-queue place the pipeline reserved for the first step; `nil` for a continued run.
    let firstTicket: QueueTicket?
    /// Client calls end the run with the calls pending instead of being waited for (AG-UI).
    var handsBackClientCalls = false
    /// The offered tools an ``ExternalToolSource`` runs (MCP servers), by name.
    var externalTools: [String: ExternalTool] = [:]

    var toolDefinitions: [ToolDefinition] {
        tools.values.sorted { $0.name < $1.name }.map(\.definition)
    }
}

/// Where the tool loop begins.
enum LoopStart: Sendable {
    /// At step 1.
    case fresh
    /// Inside `step`, whose `calls` are answered (`results`) or wait on the client: a run continued
    /// after a restart. Calls in `awaitingApproval` wait for a decision, the others for a result.
    case within(step: Int, calls: [ToolCall], results: [String: AgentEngine.ToolResult], awaitingApproval: Set<String>)
}

/// What a run has produced so far; read when it ends, however it ends.
final class RunProgress: Sendable {
    private struct State {
        var steps = 0
        var lastText = ""
        var usage = Usage.zero
        var usedCallIds: Set<String> = []
        var firstToken: ContinuousClock.Instant?
    }

    private let state: Mutex<State>

    init(steps: Int = 0, lastText: String = "", usage: Usage = .zero, callIds: Set<String> = []) {
        state = Mutex(State(steps: steps, lastText: lastText, usage: usage, usedCallIds: callIds))
    }

    var steps: Int { state.withLock { $0.steps } }
    var lastText: String { state.withLock { $0.lastText } }
    var usage: Usage { state.withLock { $0.usage } }
    var firstToken: ContinuousClock.Instant? { state.withLock { $0.firstToken } }

    func beginStep(_ step: Int) {
        state.withLock { state in
            state.steps = step
            state.lastText = ""
        }
    }

    func append(_ text: String) {
        state.withLock { state in
            state.lastText += text
            if state.firstToken == nil { state.firstToken = .now }
        }
    }

    func add(_ usage: Usage) {
        state.withLock { $0.usage = $0.usage + usage }
    }

    /// A call id unique within the run: models may reuse or omit ids.
    func uniqueCallId(_ proposed: String) -> String {
        state.withLock { state in
            var id = proposed.isEmpty ? "call_\(UUID.random().uuidString.prefix(8).lowercased())" : proposed
            while state.usedCallIds.contains(id) { id = "\(proposed)_\(UUID.random().uuidString.prefix(4).lowercased())" }
            state.usedCallIds.insert(id)
            return id
        }
    }
}

/// How a run ended.
enum RunEnd: Sendable, Equatable {
    case completed(String)
    case maxSteps
    case failed(APIError)
    case cancelled
    case timedOut
    /// The server shut down while the run was in flight.
    case interrupted

    var status: AgentInvocation.Status {
        switch self {
        case .completed: .completed
        case .maxSteps: .maxSteps
        case .failed: .failed
        case .cancelled: .cancelled
        case .timedOut: .timedOut
        case .interrupted: .interrupted
        }
    }
}

/// Runs `operation` with a time limit; `nil` when the limit passed first (the operation is cancelled).
func withTimeout<Value: Sendable>(_ limit: Duration, _ operation: @escaping @Sendable () async -> Value) async -> Value? {
    await withTaskGroup(of: Value?.self) { group in
        group.addTask { await operation() }
        group.addTask {
            try? await Task.sleep(for: limit)
            return nil
        }
        let first = await group.next() ?? nil
        group.cancelAll()
        return first
    }
}
