import ArgumentParser

/// `agenthost`: the server and its administration commands.
@main
struct AgentHostCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "agenthost",
        abstract: "Runs LLM agents and chats for programs and people.",
        subcommands: [ServeCommand.self, MigrateCommand.self, UsersCommand.self, APIKeysCommand.self, BenchCommand.self, DocumentsCommand.self, ExportCommand.self],
        defaultSubcommand: ServeCommand.self
    )
}
