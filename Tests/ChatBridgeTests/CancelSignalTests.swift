import Synchronization
import Testing

@testable import ChatBridge

@Suite("A stop request several tasks wait for")
struct CancelSignalTests {
    /// Cancelling one waiting task returns it alone; the others wait for the request itself.
    @Test(.timeLimit(.minutes(1)))
    func cancellingOneWaiterLeavesTheOthersWaiting() async throws {
        let signal = CancelSignal()
        let returned = Returned()
        let cancelled = Task {
            await signal.wait()
            returned.names.withLock { $0.append("cancelled") }
        }
        let waiting = Task {
            await signal.wait()
            returned.names.withLock { $0.append("waiting") }
        }
        try await Task.sleep(for: .milliseconds(100))
        cancelled.cancel()
        await cancelled.value
        try await Task.sleep(for: .milliseconds(200))
        #expect(returned.names.withLock { $0 } == ["cancelled"], "the other waiter must not be woken by that cancellation")
        signal.request()
        await waiting.value
        #expect(returned.names.withLock { $0 } == ["cancelled", "waiting"])
        #expect(signal.isRequested)
    }
}

private final class Returned: Sendable {
    let names = Mutex<[String]>([])
}
