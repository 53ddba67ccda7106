import ArgumentParser
import ChatBridge
import Foundation

/// How the default provider is given tools: native or prompted tool calling, and the llama.cpp
/// extensions (grammar-constrained calls, prompt cache) used with a local server.
struct ToolCallingOptions: ParsableArguments {
    @Option(name: .customLong("llm-tool-calling"), help: "native, prompted or auto (native for the OpenAI, Anthropic and Cohere APIs, prompted for any other OpenAI-compatible server). A workspace's tool_calling overrides it. Env: AGENTHOST_LLM_TOOL_CALLING. Default: auto")
    var toolCalling: String?

    @Option(name: .customLong("llm-constrained-decoding"), help: "on, off or auto: in prompted tool calling, send a GBNF grammar so each step is an answer or well-formed tool calls (llama.cpp servers). auto = on for a server on this machine. Env: AGENTHOST_LLM_CONSTRAINED_DECODING. Default: auto")
    var constrainedDecoding: String?

    @Option(name: .customLong("llm-prompt-cache"), help: "on, off or auto: send cache_prompt: true so a llama.cpp server reuses the previous step's prompt. auto = on for a server on this machine. Env: AGENTHOST_LLM_PROMPT_CACHE. Default: auto")
    var promptCache: String?

    /// Applies the flags, then the environment, then the defaults, to the default provider.
    func apply(to settings: inout ProviderSettings) throws {
        if let text = toolCalling ?? Environment.value("AGENTHOST_LLM_TOOL_CALLING") {
            guard let mode = ToolCallingMode(rawValue: text.lowercased()) else {
                throw ValidationError("The tool calling mode must be native, prompted or auto; got '\(text)'.")
            }
            settings.toolCalling = mode
        }
        // The llama.cpp fields go only to a server on this machine by default: vendors and other
        // proxies may reject fields they do not know.
        let local = settings.kind == .openai && !settings.isVendorEndpoint && LoopbackAddress.contains(hostOf: settings.baseURL)
        settings.constrainedDecoding = try Self.switchValue(constrainedDecoding, "AGENTHOST_LLM_CONSTRAINED_DECODING") ?? local
        settings.promptCache = try Self.switchValue(promptCache, "AGENTHOST_LLM_PROMPT_CACHE") ?? local
    }

    /// `on`/`off` as a Bool, `auto` or unset as `nil`.
    private static func switchValue(_ flag: String?, _ name: String) throws -> Bool? {
        guard let text = (flag ?? Environment.value(name))?.lowercased() else { return nil }
        switch text {
        case "on", "true", "1", "yes": return true
        case "off", "false", "0", "no": return false
        case "auto": return nil
        default: throw ValidationError("\(name) must be on, off or auto; got '\(text)'.")
        }
    }
}
