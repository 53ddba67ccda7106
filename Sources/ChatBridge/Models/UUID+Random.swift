import Foundation

extension UUID {
    /// A version 4 (random) UUID drawn from the system's random number generator (`getrandom` on Linux).
    ///
    /// Use it instead of `UUID()`: on Linux, Foundation's `UUID()` opens `/dev/urandom` for every id,
    /// and when the process has no file descriptor left (a server holding many sockets) it returns
    /// `00000000-0000-4000-8000-000000000000` every time instead of failing, so chats, runs and watchers
    /// made then would share one id. It also costs three system calls per id where this costs one.
    public static func random() -> UUID {
        var generator = SystemRandomNumberGenerator()
        return random(using: &generator)
    }
}
