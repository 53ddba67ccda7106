/// How the server stops (PROTOCOL §8).
struct LifecycleSettings: Sendable, Equatable {
    /// The whole SIGTERM/SIGINT shutdown: stopping and storing runs, then draining HTTP. Past it the
    /// remaining connections are cancelled, so the process exits within the 5 s the contract gives.
    var shutdownTimeout: Duration = .seconds(3)
}
