import Testing

/// Waiting for something another thread or process does, with a deadline that records a failure
/// where it was asked for instead of hanging the suite.
enum Poll {
    /// Returns once `condition` holds, or records an issue after `timeout`.
    static func until(timeout: Duration = .seconds(10), sourceLocation: SourceLocation = #_sourceLocation,
                      _ condition: () async throws -> Bool) async throws {
        let deadline = ContinuousClock.now + timeout
        while try await !condition() {
            guard ContinuousClock.now < deadline else {
                Issue.record("condition not met within \(timeout)", sourceLocation: sourceLocation)
                return
            }
            try await Task.sleep(for: .milliseconds(10))
        }
    }

    /// The first non-`nil` `value`, or a failed requirement after `timeout`.
    static func value<Value>(timeout: Duration = .seconds(10), sourceLocation: SourceLocation = #_sourceLocation,
                             _ value: () async throws -> Value?) async throws -> Value {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if let value = try await value() { return value }
            try await Task.sleep(for: .milliseconds(10))
        }
        return try #require(try await value(), "not there within \(timeout)", sourceLocation: sourceLocation)
    }
}
