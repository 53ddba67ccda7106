import Foundation

/// How to reach one model provider, and how patient to be with it.
public struct ProviderSettings: Sendable, Equatable {
    public enum Kind: String, Sendable, CaseIterable {
        case openai
        case anthropic
        case cohere
    }

    public var kind: Kind
    /// The API root, e.g. `https://api.openai.com/v1`, `http://127.0.0.1:8088/v1`, `https://api.anthropic.com`.
    public var baseURL: String
    public var apiKey: String?
    public var model: String
    public var timeouts: Timeouts
    public var retry: RetryPolicy
    /// How tools are given to the model; a workspace may override it.
    public var toolCalling: ToolCallingMode = .auto
    /// In prompted tool calling, send a GBNF `grammar` so each step is an answer or well-formed
    /// calls (llama.cpp's servers; vendors reject the field).
    public var constrainedDecoding = false
    /// Send `cache_prompt: true` so a llama.cpp server reuses the previous step's evaluated prompt.
    public var promptCache = false

    public init(kind: Kind, baseURL: String, apiKey: String?, model: String,
                timeouts: Timeouts = Timeouts(), retry: RetryPolicy = RetryPolicy()) {
        self.kind = kind
        self.baseURL = baseURL
        self.apiKey = apiKey
        self.model = model
        self.timeouts = timeouts
        self.retry = retry
    }

    /// The vendor's public endpoint for `kind`.
    public static func defaultBaseURL(for kind: Kind) -> String {
        switch kind {
        case .openai: "https://api.openai.com/v1"
        case .anthropic: "https://api.anthropic.com"
        case .cohere: "https://api.cohere.com"
        }
    }

    public struct Timeouts: Sendable, Equatable {
        /// Establishing the TCP (and TLS) connection.
        public var connect: Duration
        /// From sending the request until the upstream answers with its response head.
        public var firstToken: Duration
        /// Longest silence between two pieces of the streamed answer.
        public var idle: Duration

        public init(connect: Duration = .seconds(10), firstToken: Duration = .seconds(120), idle: Duration = .seconds(60)) {
            self.connect = connect
            self.firstToken = firstToken
            self.idle = idle
        }
    }

    /// Retries happen only before the first token: a half-streamed answer is never repeated.
    public struct RetryPolicy: Sendable, Equatable {
        public var maxRetries: Int
        public var initialBackoff: Duration
        public var maxBackoff: Duration

        public init(maxRetries: Int = 2, initialBackoff: Duration = .milliseconds(250), maxBackoff: Duration = .seconds(8)) {
            self.maxRetries = maxRetries
            self.initialBackoff = initialBackoff
            self.maxBackoff = maxBackoff
        }
    }
}
