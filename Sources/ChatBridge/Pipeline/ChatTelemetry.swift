import CoreMetrics
import Foundation
import Logging

/// The telemetry stage: Prometheus-style metrics and an `event_logs` row per chat (never its text).
public struct ChatTelemetry: Sendable {
    let factory: any MetricsFactory
    let store: any ChatStore
    let logger: Logger
    private let inFlight: Meter

    public init(factory: any MetricsFactory, store: any ChatStore, logger: Logger) {
        self.factory = factory
        self.store = store
        self.logger = logger
        inFlight = Meter(label: "agenthost_streams_in_flight", factory: factory)
    }

    func streamStarted() { inFlight.increment() }
    func streamEnded() { inFlight.decrement() }

    /// Records the end of one chat: counters, histograms and the event row.
    func record(transport: String, provider: String, chat: Chat, outcome: ChatOutcome, usage: Usage,
                metrics: StreamMetrics, errorCode: APIError.Code?) async {
        count(transport: transport, provider: provider, outcome: outcome, usage: usage, metrics: metrics, errorCode: errorCode)
        do {
            try await store.record(event(transport: transport, provider: provider, chat: chat, outcome: outcome, usage: usage,
                                         metrics: metrics, errorCode: errorCode))
        } catch {
            eventNotStored(error)
        }
    }

    /// The counters and histograms of the end of one chat.
    func count(transport: String, provider: String, outcome: ChatOutcome, usage: Usage, metrics: StreamMetrics,
               errorCode: APIError.Code?) {
        Counter(label: "agenthost_chats_total", dimensions: [("transport", transport), ("status", outcome.status.rawValue)],
                factory: factory).increment()
        if let errorCode { countError(errorCode) }
        Counter(label: "agenthost_tokens_total", dimensions: [("direction", "in")], factory: factory)
            .increment(by: usage.promptTokens)
        Counter(label: "agenthost_tokens_total", dimensions: [("direction", "out")], factory: factory)
            .increment(by: usage.completionTokens)
        if metrics.ttftMilliseconds > 0 {
            CoreMetrics.Timer(label: "agenthost_time_to_first_token_seconds", dimensions: [("provider", provider)], factory: factory)
                .recordNanoseconds(Int64(metrics.ttftMilliseconds * 1e6))
        }
        CoreMetrics.Timer(label: "agenthost_chat_duration_seconds", dimensions: [("provider", provider)], factory: factory)
            .recordNanoseconds(Int64(metrics.durationMilliseconds * 1e6))
    }

    /// The `event_logs` row of the end of one chat (numbers and codes, never its text).
    func event(transport: String, provider: String, chat: Chat, outcome: ChatOutcome, usage: Usage, metrics: StreamMetrics,
               errorCode: APIError.Code?) -> EventLog {
        var metadata: [String: String] = [
            "transport": transport, "provider": provider, "status": outcome.status.rawValue, "mode": chat.mode.rawValue,
            "prompt_tokens": "\(usage.promptTokens)", "completion_tokens": "\(usage.completionTokens)",
            "ttft_ms": "\(metrics.ttftMilliseconds.rounded3)", "duration_ms": "\(metrics.durationMilliseconds.rounded3)",
            "queue_ms": "\(metrics.queueMilliseconds.rounded3)",
        ]
        if let model = outcome.model { metadata["model"] = model }
        if let errorCode { metadata["error_code"] = errorCode.rawValue }
        return EventLog(event: "chat", workspaceId: chat.workspaceId, userId: chat.userId, chatId: chat.id, metadata: metadata)
    }

    /// An event row that could not be written: logged, as telemetry never fails a chat.
    func eventNotStored(_ error: any Error) {
        logger.warning("event log write failed", metadata: ["error": "\(error)"])
    }

    /// Counts an error by its contract code.
    public func countError(_ code: APIError.Code) {
        Counter(label: "agenthost_errors_total", dimensions: [("code", code.rawValue)], factory: factory).increment()
    }
}
