import AgentHost

/// The `agenthost` executable: everything but this entry point is the `AgentHost` library, which the
/// tests and `agenthost-bench` link in-process.
@main
enum AgentHostMain {
    static func main() async {
        await AgentHostCommand.main()
    }
}
