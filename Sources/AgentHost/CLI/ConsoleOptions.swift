import ArgumentParser
import Foundation

/// The web console (PROTOCOL §11): where its files are, and a switch to turn it off.
struct ConsoleOptions: ParsableArguments {
    @Option(name: .customLong("console-dir"), help: "Directory of the web console's files (index.html, JavaScript modules, CSS). Env: AGENTHOST_CONSOLE_DIR. Default: ./console, else the console folder of the checkout the binary was built in")
    var directory: String?

    @Flag(name: .customLong("no-console"), help: "Do not serve the web console at /; the API is unaffected. Env: AGENTHOST_CONSOLE=off")
    var disabled = false

    /// Flags first, then the environment, then defaults.
    func settings() throws -> ConsoleSettings {
        var settings = ConsoleSettings()
        if disabled {
            settings.enabled = false
        } else if let value = Environment.value("AGENTHOST_CONSOLE")?.lowercased() {
            switch value {
            case "on", "1", "true", "yes": settings.enabled = true
            case "off", "0", "false", "no": settings.enabled = false
            default: throw ConfigurationError("AGENTHOST_CONSOLE must be on or off; got '\(value)'.")
            }
        }
        settings.directory = directory ?? Environment.value("AGENTHOST_CONSOLE_DIR")
        return settings
    }
}
