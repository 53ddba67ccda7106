import Foundation

/// Tool calling for a model without (working) native tool calls: wraps a provider, describes the
/// tools in the system prompt, and turns `<tool_call>` text in the answer into the same
/// `toolCallStart`/`toolCallArguments`/`toolCallEnd` events native providers emit, so the agent
/// engine and its clients cannot tell the modes apart.
///
/// Answer text streams through as it arrives, except what may be the start of a call. A call that
/// cannot be read still becomes a call (with its raw text as arguments), which the engine returns
/// to the model as a validation error.
public struct PromptedToolCallingProvider: LLMProvider {
    let base: any LLMProvider
    let cache: ToolPromptCache
    /// Send a GBNF grammar so the output can only be an answer or well-formed calls (llama.cpp).
    let constrainDecoding: Bool

    public var kind: String { base.kind }

    public init(wrapping base: any LLMProvider, cache: ToolPromptCache, constrainDecoding: Bool) {
        self.base = base
        self.cache = cache
        self.constrainDecoding = constrainDecoding
    }

    public func stream(_ request: LLMRequest) async throws -> LLMEventStream {
        let hasToolHistory = request.messages.contains { message in
            switch message {
            case .tool: true
            case .assistant(_, let calls): !calls.isEmpty
            default: false
            }
        }
        guard !request.tools.isEmpty || hasToolHistory else { return try await base.stream(request) }
        let block = cache.toolsBlock(for: request.tools)
        let grammar = constrainDecoding ? cache.grammar(for: request.tools, choice: request.toolChoice) : nil
        let upstream = try await base.stream(PromptedToolFormat.rewrite(request, toolsBlock: block, grammar: grammar))
        return LLMEventStream {
            var iterator = upstream.makeAsyncIterator()
            var parser = ToolCallStreamParser()
            var pending: [LLMEvent] = []
            var ended = false
            var nextIndex = 0
            func translate(_ outputs: [ToolCallStreamParser.Output]) {
                for output in outputs {
                    switch output {
                    case .text(let text):
                        pending.append(.text(text))
                    case .call(let call):
                        pending.append(contentsOf: Self.events(for: call, index: nextIndex))
                        nextIndex += 1
                    }
                }
            }
            return {
                while pending.isEmpty {
                    if ended { return nil }
                    guard let event = try await iterator.next() else {
                        translate(parser.finish())
                        ended = true
                        continue
                    }
                    switch event {
                    case .text(let text):
                        translate(parser.feed(text))
                    case .finish(let reason):
                        translate(parser.finish())
                        pending.append(.finish(parser.callCount > 0 ? .toolCalls : reason))
                    case .usage, .toolCallStart, .toolCallArguments, .toolCallEnd:
                        // A server that answers with native calls anyway is passed through.
                        pending.append(event)
                    }
                }
                return pending.removeFirst()
            }
        }
    }

    /// The native events of one prompted call.
    static func events(for call: PromptedToolCall, index: Int) -> [LLMEvent] {
        let id = "call_" + UUID.random().uuidString.prefix(12).lowercased().replacingOccurrences(of: "-", with: "")
        return [.toolCallStart(index: index, id: id, name: call.name),
                .toolCallArguments(index: index, delta: call.arguments),
                .toolCallEnd(index: index)]
    }
}
