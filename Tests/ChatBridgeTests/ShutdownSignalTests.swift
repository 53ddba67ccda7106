import Synchronization
import Testing

@testable import ChatBridge

/// Every reason a run stops reaches its body as task cancellation, and the body's own value (what it
/// stored) comes back in every case (PROTOCOL §8: a run stopped by shutdown stores what it has).
@Suite("Shutdown signal")
struct ShutdownSignalTests {
    /// The stop action a run registered.
    private final class StopHolder: Sendable {
        let stop = Mutex<(@Sendable () -> Void)?>(nil)
    }

    /// A body that runs until it is cancelled (at most 20 s), then says how it ended.
    private static func runUntilCancelled() async -> String {
        for _ in 0..<2_000 {
            if Task.isCancelled { return "stored after cancel" }
            try? await Task.sleep(for: .milliseconds(10))
        }
        return "never cancelled"
    }

    /// Waits (at most 5 s) until `condition` holds.
    private static func eventually(_ condition: () -> Bool) async {
        for _ in 0..<500 where !condition() {
            try? await Task.sleep(for: .milliseconds(10))
        }
    }

    @Test func aBodyThatEndsOnItsOwnReturnsItsValueAndLeavesNothingActive() async {
        let signal = ShutdownSignal()
        let value = await signal.cancellingOnShutdown { 42 }
        #expect(value == 42)
        #expect(signal.activeRuns == 0)
        // A trigger after the run ended has nothing to stop and stops the next run at once.
        signal.trigger()
        let next = await signal.cancellingOnShutdown { await Self.runUntilCancelled() }
        #expect(next == "stored after cancel")
    }

    @Test func triggeringCancelsEveryRunInFlightAndEachStoresWhatItHas() async {
        let signal = ShutdownSignal()
        await withTaskGroup(of: String.self) { group in
            for _ in 0..<3 {
                group.addTask { await signal.cancellingOnShutdown { await Self.runUntilCancelled() } }
            }
            await Self.eventually { signal.activeRuns == 3 }
            #expect(signal.activeRuns == 3)
            signal.trigger()
            var values: [String] = []
            for await value in group { values.append(value) }
            #expect(values == Array(repeating: "stored after cancel", count: 3))
        }
        #expect(signal.activeRuns == 0)
    }

    @Test func theRunsOwnStopCancelsOnlyThatRun() async {
        let signal = ShutdownSignal()
        let stopFirst = StopHolder()
        await withTaskGroup(of: (Int, String).self) { group in
            group.addTask {
                (1, await signal.cancellingOnShutdown(stopWhen: { stop in stopFirst.stop.withLock { $0 = stop } }) {
                    await Self.runUntilCancelled()
                })
            }
            group.addTask {
                (2, await signal.cancellingOnShutdown {
                    // Runs on for a while, then ends by itself.
                    try? await Task.sleep(for: .milliseconds(300))
                    return Task.isCancelled ? "cancelled" : "finished"
                })
            }
            await Self.eventually { stopFirst.stop.withLock { $0 != nil } }
            let stop = stopFirst.stop.withLock { $0 }
            #expect(stop != nil)
            stop?()
            var values: [Int: String] = [:]
            for await (run, value) in group { values[run] = value }
            #expect(values == [1: "stored after cancel", 2: "finished"])
        }
        #expect(!signal.isTriggered)
        #expect(signal.activeRuns == 0)
    }

    @Test func cancellingTheCallingTaskCancelsTheBody() async {
        let signal = ShutdownSignal()
        let caller = Task { await signal.cancellingOnShutdown { await Self.runUntilCancelled() } }
        await Self.eventually { signal.activeRuns == 1 }
        caller.cancel()
        #expect(await caller.value == "stored after cancel")
        #expect(signal.activeRuns == 0)
    }
}
