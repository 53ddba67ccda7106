import Hummingbird

/// Answers each request in a child task of its connection's task.
///
/// The Swift task allocator frees a task's stack slabs only when the task ends, so a keep-alive
/// connection would otherwise keep, for as long as it stays open, the deepest stack any of its
/// requests reached: the middleware chain, the route and the storage calls below it. Measured with
/// heaptrack on idle keep-alive connections: 36 KB each before, 22 KB after. The cost is one task
/// per request. A response body (an SSE stream) is still written by the connection's task.
struct RequestTaskResponder<Responder: HTTPResponder>: HTTPResponder where Responder.Context: Sendable {
    typealias Context = Responder.Context
    let responder: Responder

    @Sendable func respond(to request: Request, context: Context) async throws -> Response {
        try await ShortLivedTask.run { try await responder.respond(to: request, context: context) }
    }
}

/// Work a long-lived task (a connection's) hands to a child task so that the stack the work needs
/// is given back when it returns, instead of staying with the long-lived task until it ends.
enum ShortLivedTask {
    static func run<Result: Sendable>(_ work: @escaping @Sendable () async throws -> Result) async throws -> Result {
        try await withThrowingTaskGroup(of: Result.self) { group in
            group.addTask(operation: work)
            return try await group.next()!
        }
    }
}
