extension FakeUpstream {
    /// The most of `exchanges` that were open at the same moment (an exchange still streaming counts
    /// as open until now): how many upstream requests a queue let through at once.
    public static func maxOverlap(_ exchanges: [Exchange]) -> Int {
        var events: [(ContinuousClock.Instant, Int)] = []
        for exchange in exchanges {
            events.append((exchange.receivedAt, 1))
            events.append((exchange.endedAt ?? .now, -1))
        }
        // Ends sort before starts at the same instant: a slot handed over is not an overlap.
        events.sort { $0.0 == $1.0 ? $0.1 < $1.1 : $0.0 < $1.0 }
        var open = 0
        var most = 0
        for (_, delta) in events {
            open += delta
            most = max(most, open)
        }
        return most
    }
}
