import AgentHostTesting
@testable import ChatBridge
import Testing

@testable import AgentHost

/// A stream read to the vendor's end marker hands its connection back to the pool instead of closing
/// it: vendors write the marker a write before the body's end, so a consumer that lets go at the
/// marker used to cancel a request whose last bytes were still in flight.
@Suite("Upstream connections reused")
struct UpstreamConnectionReuseTests {
    @Test func aStreamReadToItsEndMarkerLeavesItsConnectionToTheNextRequest() async throws {
        try await FakeUpstream.run(FakeUpstream()) { upstream in
            // The body's end comes 300 ms after `[DONE]`: the provider has let go of the stream by then.
            var delayedEnd = VendorStream.openAI(tokens: ["one"])
            delayedEnd.parts.append(.pause(.milliseconds(300)))
            await upstream.enqueue(delayedEnd, VendorStream.openAI(tokens: ["two"]))
            let provider = ProviderStreamingTests.provider(.openai, baseURL: await upstream.baseURL)

            let first = try await ProviderStreamingTests.collect(provider)
            #expect(ProviderStreamingTests.text(first) == "one")
            let ended = await upstream.waitForEndedExchanges(1, timeout: .seconds(10))
            let firstExchange = try #require(ended.first)
            #expect(firstExchange.completed, "the upstream wrote its whole response: the connection was not closed under it")
            #expect(!firstExchange.abandoned)

            // Time for the client to read the body's end and put the connection back in the pool.
            try await Task.sleep(for: .milliseconds(300))
            let second = try await ProviderStreamingTests.collect(provider)
            #expect(ProviderStreamingTests.text(second) == "two")
            let exchanges = await upstream.exchanges
            try #require(exchanges.count == 2)
            let firstPort = try #require(exchanges[0].clientPort)
            #expect(exchanges[1].clientPort == firstPort, "the second request came on the first one's connection")
        }
    }

    /// `--max-upstream-connections`: a stream beyond the limit waits for a connection to free instead
    /// of opening another descriptor, and is then served on it.
    @Test func aStreamBeyondTheConnectionLimitWaitsForAConnection() async throws {
        try await FakeUpstream.run(FakeUpstream()) { upstream in
            var slow = VendorStream.openAI(tokens: ["one"])
            slow.parts.insert(.pause(.milliseconds(300)), at: 1)
            await upstream.enqueue(slow, slow)
            // Timeouts far beyond the pause: a loaded machine must not fail the first stream while the second waits.
            let timeouts = ProviderSettings.Timeouts(connect: .seconds(10), firstToken: .seconds(30), idle: .seconds(10))
            let client = Dependencies.makeHTTPClient(timeouts: timeouts, connectionsPerHost: 1)
            let settings = ProviderSettings(kind: .openai, baseURL: await upstream.baseURL + "/v1", apiKey: "k", model: "fake",
                                            timeouts: timeouts)
            let provider = ProviderCatalog(defaultSettings: settings, client: client, logger: ProviderStreamingTests.logger)
                .makeProvider(settings)
            let texts = await withTaskGroup(of: String.self) { group in
                for _ in 0..<2 {
                    group.addTask {
                        do { return try await ProviderStreamingTests.text(ProviderStreamingTests.collect(provider)) } catch { return "failed: \(error)" }
                    }
                }
                return await group.reduce(into: []) { $0.append($1) }
            }
            try await client.shutdown()
            #expect(texts == ["one", "one"])
            let exchanges = await upstream.exchanges
            try #require(exchanges.count == 2)
            #expect(exchanges[0].clientPort != nil && exchanges[1].clientPort == exchanges[0].clientPort,
                    "both streams came on the one connection allowed")
            let firstEnd = try #require(exchanges[0].endedAt)
            #expect(exchanges[1].receivedAt >= firstEnd, "the second was sent only once the first had ended")
        }
    }

    @Test func aStreamThatGoesOnAfterItsEndMarkerIsClosedAfterTheIdleTimeout() async throws {
        try await FakeUpstream.run(FakeUpstream()) { upstream in
            // After `[DONE]` the upstream keeps the body open for 10 s, writing an SSE comment every 100 ms
            // (so no read timeout fires): the client must still close it, after the provider's 1 s idle timeout.
            var lingering = VendorStream.openAI(tokens: ["one"])
            for _ in 0..<100 { lingering.parts += [.pause(.milliseconds(100)), .bytes(": still here\n\n")] }
            await upstream.enqueue(lingering)
            let provider = ProviderStreamingTests.provider(.openai, baseURL: await upstream.baseURL)
            let started = ContinuousClock.now
            let events = try await ProviderStreamingTests.collect(provider)
            #expect(ProviderStreamingTests.text(events) == "one")
            #expect(events.last == .finish(.stop))
            let ended = await upstream.waitForEndedExchanges(1, timeout: .seconds(20))
            let exchange = try #require(ended.first)
            #expect(exchange.abandoned, "the client closed the connection the upstream kept open")
            let endedAt = try #require(exchange.endedAt)
            #expect(started.duration(to: endedAt) < .seconds(8), "closed after the 1 s idle timeout, not at the body's end (10 s)")
        }
    }
}
