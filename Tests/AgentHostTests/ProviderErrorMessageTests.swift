import ChatBridge
import Foundation
import HummingbirdTesting
import Testing

@testable import AgentHost

/// Provider failures reach users as clear messages without the provider's internal address.
@Suite("Provider error messages")
struct ProviderErrorMessageTests {
    @Test func anUnreachableProviderIsNotNamedByAddress() async throws {
        let harness = try await TestHarness { configuration in
            configuration.llm = ProviderSettings(
                kind: .openai, baseURL: "http://127.0.0.1:1/v1", apiKey: nil, model: "m",
                timeouts: .init(connect: .seconds(2), firstToken: .seconds(5), idle: .seconds(1)),
                retry: .init(maxRetries: 0))
        }
        try await harness.addWorkspace("Docs")
        try await harness.testLive { client in
            let response = try await client.send(.post, "/api/chats/stream_chat", json: #"{"message": "hi", "workspace": "docs"}"#)
            let error = try #require(response.frames.last)
            #expect(error["type"] == "error")
            #expect(error["code"] == "provider_error")
            let message = try #require(error["message"]?.stringValue)
            #expect(message.contains("openai provider"))
            #expect(!message.contains("127.0.0.1"), "\(message)")
            #expect(!message.contains(":1"), "\(message)")
        }
    }

    @Test func anUpstreamErrorStatusIsNotNamedByAddress() async throws {
        try await TestHarness.withUpstream { harness, upstream in
            try await harness.addWorkspace("Docs")
            await upstream.enqueue(.error(status: 400, message: "model not loaded"))
            let base = await upstream.baseURL
            let address = try #require(URL(string: base)?.port).description
            try await harness.testLive { client in
                let response = try await client.send(.post, "/api/chats/stream_chat", json: #"{"message": "hi", "workspace": "docs"}"#)
                let error = try #require(response.frames.last)
                #expect(error["code"] == "provider_error")
                let message = try #require(error["message"]?.stringValue)
                #expect(message.contains("HTTP 400"))
                #expect(message.contains("model not loaded"))
                #expect(!message.contains("127.0.0.1") && !message.contains(address), "\(message)")
            }
        }
    }
}
