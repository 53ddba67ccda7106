/// A language model reached over the network, streaming its answer as typed events.
///
/// `stream(_:)` returns once the upstream accepted the request (after any retries); iterating
/// the result reads the answer as it arrives. Cancelling the iterating task, or dropping the
/// stream, closes the upstream connection.
public protocol LLMProvider: Sendable {
    /// The vendor kind, for logs, metrics and error messages (`openai`, `anthropic`, `cohere`).
    var kind: String { get }
    func stream(_ request: LLMRequest) async throws -> LLMEventStream
}

/// A type-erased, pull-based stream of ``LLMEvent``s: nothing is read from the upstream until the
/// consumer asks for the next event, so a slow consumer slows the upstream instead of buffering.
public struct LLMEventStream: AsyncSequence, Sendable {
    public typealias Element = LLMEvent

    private let makeNext: @Sendable () -> (() async throws -> LLMEvent?)

    /// A stream whose iterator calls the closure made by `makeNext` for each event; `nil` ends it.
    public init(_ makeNext: @escaping @Sendable () -> (() async throws -> LLMEvent?)) {
        self.makeNext = makeNext
    }

    /// A stream of fixed events, for tests and canned answers.
    public init(events: [LLMEvent]) {
        self.init {
            var remaining = events[...]
            return { remaining.popFirst() }
        }
    }

    public struct AsyncIterator: AsyncIteratorProtocol {
        let nextEvent: () async throws -> LLMEvent?

        public mutating func next() async throws -> LLMEvent? {
            try await nextEvent()
        }
    }

    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(nextEvent: makeNext())
    }
}
