import ArgumentParser

/// `agenthost`: the server and its administration commands (the `AgentHostMain` executable runs it).
package struct AgentHostCommand: AsyncParsableCommand {
    package static let configuration = CommandConfiguration(
        commandName: "agenthost",
        abstract: "Runs LLM agents and chats for programs and people.",
        subcommands: [ServeCommand.self, MigrateCommand.self, UsersCommand.self, APIKeysCommand.self, DocumentsCommand.self, ExportCommand.self],
        defaultSubcommand: ServeCommand.self
    )

    package init() {}
}
