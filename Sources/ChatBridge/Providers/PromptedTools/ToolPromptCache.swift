import Synchronization

/// The rendered tools block and grammar per tool set, so a run's later steps (and other runs
/// with the same tools) reuse the text instead of serialising every schema again, and send the
/// byte-identical prefix that lets llama.cpp reuse its cached prompt.
public final class ToolPromptCache: Sendable {
    public struct Entry: Sendable {
        public var toolsBlock: String
        /// Grammars per tool choice, made on first use.
        var grammars: [GrammarKey: String?]
    }

    struct GrammarKey: Hashable {
        var choice: String
    }

    private let entries = Mutex<[(tools: [ToolDefinition], entry: Entry)]>([])
    private let capacity: Int

    public init(capacity: Int = 32) {
        self.capacity = capacity
    }

    /// The tools block for `tools`, rendered once per tool set.
    public func toolsBlock(for tools: [ToolDefinition]) -> String {
        if let hit = lookup(tools) { return hit.toolsBlock }
        let entry = Entry(toolsBlock: PromptedToolFormat.toolsBlock(for: tools), grammars: [:])
        store(tools, entry)
        return entry.toolsBlock
    }

    /// The grammar for `tools` under `choice`, made once per tool set and choice.
    public func grammar(for tools: [ToolDefinition], choice: ToolChoice) -> String? {
        let key = GrammarKey(choice: "\(choice)")
        if let hit = lookup(tools), let grammar = hit.grammars[key] { return grammar }
        let grammar = ToolCallGrammar.gbnf(for: tools, choice: choice)
        var entry = lookup(tools) ?? Entry(toolsBlock: PromptedToolFormat.toolsBlock(for: tools), grammars: [:])
        entry.grammars[key] = grammar
        store(tools, entry)
        return grammar
    }

    /// How many tool sets are cached (for tests).
    public var count: Int { entries.withLock { $0.count } }

    private func lookup(_ tools: [ToolDefinition]) -> Entry? {
        entries.withLock { entries in
            guard let index = entries.firstIndex(where: { $0.tools == tools }) else { return nil }
            // Most recently used last.
            let hit = entries.remove(at: index)
            entries.append(hit)
            return hit.entry
        }
    }

    private func store(_ tools: [ToolDefinition], _ entry: Entry) {
        entries.withLock { entries in
            entries.removeAll { $0.tools == tools }
            entries.append((tools, entry))
            if entries.count > capacity { entries.removeFirst(entries.count - capacity) }
        }
    }
}
