import Foundation

/// Whether and from where the web console is served.
struct ConsoleSettings: Sendable {
    /// Serve the console at `/`.
    var enabled = true
    /// The console's directory as configured; found next to the checkout when `nil`
    /// (``ConsoleDirectory/locate(explicit:)``).
    var directory: String?
}
