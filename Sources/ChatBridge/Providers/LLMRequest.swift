/// What a provider is asked: a conversation, the tools the model may call, and sampling settings.
public struct LLMRequest: Sendable, Equatable {
    public var model: String
    public var messages: [LLMMessage]
    public var tools: [ToolDefinition]
    public var toolChoice: ToolChoice
    public var temperature: Double?
    public var maxTokens: Int?
    /// A GBNF grammar the output must follow, for servers that constrain decoding (llama.cpp);
    /// set by prompted tool calling, ignored by vendors' providers.
    public var grammar: String?
    /// Texts that end the answer when the model writes them (OpenAI-compatible `stop`).
    public var stop: [String]

    public init(
        model: String, messages: [LLMMessage], tools: [ToolDefinition] = [], toolChoice: ToolChoice = .auto,
        temperature: Double? = nil, maxTokens: Int? = nil, grammar: String? = nil, stop: [String] = []
    ) {
        self.model = model
        self.messages = messages
        self.tools = tools
        self.toolChoice = toolChoice
        self.temperature = temperature
        self.maxTokens = maxTokens
        self.grammar = grammar
        self.stop = stop
    }
}

/// One message of a conversation sent to a model.
public enum LLMMessage: Sendable, Equatable {
    case system(String)
    case user(String, images: [ImageAttachment] = [])
    /// A model turn: its text and the tools it asked for.
    case assistant(String, toolCalls: [ToolCall] = [])
    /// The result of one tool call, answering the assistant turn before it.
    case tool(callId: String, name: String, output: String, isError: Bool)
}

/// An image passed to a model that accepts images.
public struct ImageAttachment: Sendable, Equatable {
    public var mime: String
    public var base64: String

    public init(mime: String, base64: String) {
        self.mime = mime
        self.base64 = base64
    }
}

/// A tool the model may call: its name, what it does, and a JSON Schema of its arguments.
public struct ToolDefinition: Sendable, Equatable {
    public var name: String
    public var description: String
    public var parameters: JSONValue

    public init(name: String, description: String, parameters: JSONValue) {
        self.name = name
        self.description = description
        self.parameters = parameters
    }
}

/// A tool call as the model made it; `arguments` is the JSON text the model wrote.
public struct ToolCall: Sendable, Equatable {
    public var id: String
    public var name: String
    public var arguments: String

    public init(id: String, name: String, arguments: String) {
        self.id = id
        self.name = name
        self.arguments = arguments
    }
}

/// Whether and which tool the model must call.
public enum ToolChoice: Sendable, Equatable {
    case auto
    case none
    case required
    case tool(String)
}

/// Why a model stopped.
public enum FinishReason: String, Sendable, Equatable {
    case stop
    case length
    case toolCalls = "tool_calls"
    case contentFilter = "content_filter"
    case other
}

/// One typed piece of a model's streamed answer.
public enum LLMEvent: Sendable, Equatable {
    case text(String)
    /// The model started tool call number `index` of this turn.
    case toolCallStart(index: Int, id: String, name: String)
    /// More of the JSON arguments of tool call `index`.
    case toolCallArguments(index: Int, delta: String)
    case toolCallEnd(index: Int)
    case usage(Usage)
    case finish(FinishReason)
}
