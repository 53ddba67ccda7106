import Testing

/// The WebSocket suites that move megabytes, time their frames, or flood a socket run one test at a
/// time: beside each other (the 100,000-frame fuzzer above all) they starve the timing-sensitive ones
/// on a small machine. Other suites still run in parallel with them.
@Suite("WebSockets", .serialized)
struct WebSocketSuites {}
