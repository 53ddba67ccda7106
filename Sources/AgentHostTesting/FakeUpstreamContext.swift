import Hummingbird

/// The fake upstream's request context: Hummingbird's basic one plus the client's port, so an
/// exchange can tell which connection it came on (``FakeUpstream/Exchange/clientPort``).
struct FakeUpstreamContext: RequestContext {
    var coreContext: CoreRequestContextStorage
    /// The port of the client's end of the connection.
    let clientPort: Int?

    init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        clientPort = source.channel.remoteAddress?.port
    }
}
