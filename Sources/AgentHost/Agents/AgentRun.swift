import ChatBridge
import Foundation
import Synchronization
import Tools

/// Everything one run needs, fixed when it starts.
struct AgentRun: Sendable {
    let invocation: Invocation
    let record: AgentInvocation
    let workspace: Workspace
    let viewer: Viewer
    /// The chat row that receives the final answer (stored with the prompt before the model is called).
    let chat: Chat
    let provider: any LLMProvider
    let model: String
    let messages: [LLMMessage]
    /// Tools offered to the model, by name.
    let tools: [String: ToolSpec]
    let firstToolChoice: ToolChoice
    let maxSteps: Int
    let threadSlug: String?
    let started: ContinuousClock.Instant

    var toolDefinitions: [ToolDefinition] {
        tools.values.sorted { $0.name < $1.name }.map(\.definition)
    }
}

/// What a run has produced so far; read when it ends, however it ends.
final class RunProgress: Sendable {
    private struct State {
        var steps = 0
        var lastText = ""
        var usage = Usage.zero
        var usedCallIds: Set<String> = []
    }

    private let state = Mutex(State())

    var steps: Int { state.withLock { $0.steps } }
    var lastText: String { state.withLock { $0.lastText } }
    var usage: Usage { state.withLock { $0.usage } }

    func beginStep(_ step: Int) {
        state.withLock { state in
            state.steps = step
            state.lastText = ""
        }
    }

    func append(_ text: String) {
        state.withLock { $0.lastText += text }
    }

    func add(_ usage: Usage) {
        state.withLock { $0.usage = $0.usage + usage }
    }

    /// A call id unique within the run: models may reuse or omit ids.
    func uniqueCallId(_ proposed: String) -> String {
        state.withLock { state in
            var id = proposed.isEmpty ? "call_\(UUID().uuidString.prefix(8).lowercased())" : proposed
            while state.usedCallIds.contains(id) { id = "\(proposed)_\(UUID().uuidString.prefix(4).lowercased())" }
            state.usedCallIds.insert(id)
            return id
        }
    }
}

/// How a run ended.
enum RunEnd: Sendable {
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
