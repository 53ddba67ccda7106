import NIOCore
import Testing

@testable import AgentHost

@Suite("Outbound buffer of streamed responses")
struct OutboundBufferTests {
    @Test func whatIsSentBetweenWritesGoesOutInOneWrite() async {
        let buffer = OutboundBuffer(limit: 1024)
        for token in ["a", "b", "c"] { await buffer.send(ByteBuffer(string: token)) }
        #expect(await buffer.next().map { String(buffer: $0) } == "abc")
        buffer.finish()
        #expect(await buffer.next() == nil)
    }

    @Test func aWaitingReaderGetsTheFirstBytesAtOnce() async {
        let buffer = OutboundBuffer(limit: 1024)
        async let first = buffer.next()
        try? await Task.sleep(for: .milliseconds(20))
        await buffer.send(ByteBuffer(string: "token"))
        #expect(await first.map { String(buffer: $0) } == "token")
    }

    @Test func theProducerWaitsOverTheLimitUntilTheWriterTakesTheBytes() async {
        let buffer = OutboundBuffer(limit: 4)
        let progress = Progress()
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                await buffer.send(ByteBuffer(string: "12345"))  // over the limit: waits
                await progress.mark()
            }
            try? await Task.sleep(for: .milliseconds(50))
            #expect(await progress.done == false, "a slow writer slows the producer")
            #expect(await buffer.next().map { String(buffer: $0) } == "12345")
            await group.waitForAll()
            #expect(await progress.done)
        }
    }

    @Test func finishingReleasesAWaitingProducerAndDropsLaterBytes() async {
        let buffer = OutboundBuffer(limit: 1)
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await buffer.send(ByteBuffer(string: "stuck")) }
            try? await Task.sleep(for: .milliseconds(20))
            buffer.finish()  // the client left
            await group.waitForAll()
        }
        await buffer.send(ByteBuffer(string: "late"))
        #expect(await buffer.next().map { String(buffer: $0) } == "stuck", "what was queued is still handed over")
        #expect(await buffer.next() == nil)
    }

    actor Progress {
        var done = false
        func mark() { done = true }
    }
}
