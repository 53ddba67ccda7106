import ChatBridge
import NIOPosix
import ServiceLifecycle
import Synchronization

/// Runs password hashing (scrypt: tens of milliseconds of CPU and 32 MiB each) on threads of its
/// own, so that a flood of logins queues here instead of starving the cooperative pool that serves
/// every other request. At most `threads` hashes run at once.
///
/// The pool starts on first use and is shut down by ``run()`` when the server stops.
final class PasswordHashingPool: Service, Sendable {
    private enum State {
        case idle
        case running(NIOThreadPool)
        case closed
    }

    let threads: Int
    private let state = Mutex<State>(.idle)

    init(threads: Int) {
        self.threads = max(1, threads)
    }

    /// Runs `body` on the pool.
    func run<Value: Sendable>(_ body: @escaping @Sendable () throws -> Value) async throws -> Value {
        try await pool().runIfActive(body)
    }

    private func pool() throws -> NIOThreadPool {
        try state.withLock { state in
            switch state {
            case .running(let pool):
                return pool
            case .idle:
                let pool = NIOThreadPool(numberOfThreads: threads)
                pool.start()
                state = .running(pool)
                return pool
            case .closed:
                throw APIError(.internal, "The server is shutting down.")
            }
        }
    }

    /// Waits for the server to stop, then stops the threads.
    func run() async throws {
        try? await gracefulShutdown()
        let pool: NIOThreadPool? = state.withLock { state in
            defer { state = .closed }
            if case .running(let pool) = state { return pool }
            return nil
        }
        try await pool?.shutdownGracefully()
    }
}
