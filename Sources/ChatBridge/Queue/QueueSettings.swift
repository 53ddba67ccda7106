import CoreMetrics

/// Limits of the per-provider queues (PROTOCOL §4 queuing).
///
/// The limits are per process: several instances on one database each hold their own.
public struct QueueSettings: Sendable, Equatable {
    /// Concurrent upstream requests per provider; a provider not listed is unlimited.
    public var maxConcurrency: [ProviderSettings.Kind: Int]
    /// Requests that may wait for a slot per provider; beyond that a request is refused `overloaded`.
    public var maxWaiting: Int
    /// Longest wait for a slot (including pauses asked by a throttling upstream) before `overloaded`.
    public var timeout: Duration
    /// Concurrent requests to the embeddings provider (`--llm-max-concurrency embeddings=N`); unlimited when `nil`.
    public var embeddingsMaxConcurrency: Int?

    public init(maxConcurrency: [ProviderSettings.Kind: Int] = [:], maxWaiting: Int = 256, timeout: Duration = .seconds(120),
                embeddingsMaxConcurrency: Int? = nil) {
        self.maxConcurrency = maxConcurrency
        self.maxWaiting = maxWaiting
        self.timeout = timeout
        self.embeddingsMaxConcurrency = embeddingsMaxConcurrency
    }

    /// The embeddings provider's queue.
    public func makeEmbeddingsQueue(metrics: any MetricsFactory) -> ProviderQueue {
        ProviderQueue(provider: "embeddings", limit: embeddingsMaxConcurrency, maxWaiting: maxWaiting, timeout: timeout,
                      metrics: metrics)
    }
}

/// Which line of a provider's queue a request waits in.
public enum QueuePriority: Sendable, Equatable {
    /// The next step of a running agent: served before any waiting chat.
    case agentStep
    /// A new chat (or an agent's first step).
    case chat
}

/// Who waits in a queue, for round-robin fairness across users.
public struct QueueClaim: Sendable, Equatable {
    /// The fairness key: requests with the same key share one turn of the round-robin.
    public var user: String
    public var priority: QueuePriority

    public init(user: String, priority: QueuePriority = .chat) {
        self.user = user
        self.priority = priority
    }

    /// The claim of a signed-in user (or the single user of single-user mode, `nil`).
    public init(userId: Int64?, priority: QueuePriority = .chat) {
        self.init(user: userId.map { "user:\($0)" } ?? "single-user", priority: priority)
    }
}

/// An upstream answered 429 or 503 with `Retry-After`: the provider's queue pauses for that long and
/// the request is sent again, instead of failing (it had produced no token yet).
public struct ProviderThrottled: Error, Sendable, CustomStringConvertible {
    public var retryAfter: Duration
    /// The error to report if the request cannot be retried.
    public var error: APIError

    public init(retryAfter: Duration, error: APIError) {
        self.retryAfter = retryAfter
        self.error = error
    }

    public var description: String { error.description }
}

extension APIError {
    /// A provider's queue is full or the wait for a slot timed out (PROTOCOL §1 `overloaded`).
    public static func overloaded(_ message: String, retryAfter: Duration) -> APIError {
        let seconds = max(1, Int((retryAfter.milliseconds / 1000).rounded(.up)))
        return APIError(.overloaded, message, details: ["retry_after": .int(seconds)])
    }

    /// The `retry_after` seconds of an `overloaded` or `rate_limited` error, when it carries one.
    public var retryAfterSeconds: Int? {
        if case .int(let seconds)? = details["retry_after"] { return seconds }
        return nil
    }
}
