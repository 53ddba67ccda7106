import AsyncHTTPClient
import Logging

/// The `provider_error` users see when a model provider fails: what happened, in words, without the
/// provider's internal address or raw error dumps (which name hosts and ports). The detail, with
/// the address, goes to the server log instead.
public enum ProviderFailure {
    /// `provider_error` for `error` raised while talking to the `kind` provider; logs the detail.
    public static func error(
        _ error: any Error, provider kind: String, baseURL: String? = nil, logger: Logger? = nil
    ) -> APIError {
        if let error = error as? APIError { return error }
        logger?.error("provider request failed", metadata: [
            "provider": "\(kind)", "base_url": "\(baseURL ?? "-")", "error": "\(String(reflecting: error))",
        ])
        return APIError(.providerError, "The \(kind) provider failed: \(describe(error)).")
    }

    /// A short, address-free description of a transport failure.
    public static func describe(_ error: any Error) -> String {
        if let error = error as? HTTPClientError {
            switch error {
            case .deadlineExceeded: return "no response within the first-token timeout"
            case .readTimeout: return "the stream stalled past the idle timeout"
            case .connectTimeout: return "connection timed out"
            case .remoteConnectionClosed: return "the provider closed the connection"
            default: break
            }
        }
        let text = String(describing: error).lowercased()
        if text.contains("refused") { return "connection refused (is the server running?)" }
        if text.contains("reset") || text.contains("closed") || text.contains("eof") { return "the connection was cut" }
        if text.contains("timed out") || text.contains("timeout") { return "the request timed out" }
        if text.contains("resolve") || text.contains("dns") || text.contains("lookup") { return "the provider's host name could not be resolved" }
        if text.contains("ssl") || text.contains("tls") || text.contains("certificate") { return "the TLS connection failed" }
        return "the request failed (see the server log)"
    }
}
