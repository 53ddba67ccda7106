import AsyncHTTPClient
import ServiceLifecycle

/// Keeps the provider HTTP client alive for the server's lifetime and shuts it down after the server.
struct HTTPClientService: Service {
    let client: HTTPClient

    func run() async throws {
        try? await gracefulShutdown()
        try await client.shutdown()
    }
}
