/// A failure of the link to an MCP server (not an error the server answered with): the
/// connection is dropped and started again, with back-off, on the next use.
struct MCPTransportError: Error, CustomStringConvertible {
    var description: String

    init(_ description: String) {
        self.description = description
    }
}
