/// A tokenizer-free estimate of token counts, used when an upstream does not report usage.
///
/// About four characters of English per token for BPE vocabularies; never zero for non-empty text.
public enum TokenEstimate {
    public static func count(_ text: String) -> Int {
        text.isEmpty ? 0 : max(1, (text.utf8.count + 3) / 4)
    }

    public static func count(_ messages: [LLMMessage]) -> Int {
        messages.reduce(0) { total, message in
            // A few tokens of framing per message (role markers).
            total + 4 + {
                switch message {
                case .system(let text), .user(let text, _): count(text)
                case .assistant(let text, let calls): count(text) + calls.reduce(0) { $0 + count($1.name) + count($1.arguments) }
                case .tool(_, _, let output, _): count(output)
                }
            }()
        }
    }
}
