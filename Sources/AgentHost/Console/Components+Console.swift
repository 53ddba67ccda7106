import Logging

extension Components {
    /// The console's middleware, or `nil` when it is turned off or its files cannot be found (a
    /// binary installed without the checkout: the API still works, and the log says why `/` is 404).
    func consoleMiddleware() -> ConsoleMiddleware? {
        var logger = Logger(label: "agenthost")
        logger.logLevel = configuration.logLevel
        guard configuration.console.enabled else { return nil }
        guard let directory = ConsoleDirectory.locate(explicit: configuration.console.directory),
              ConsoleDirectory.hasIndex(directory)
        else {
            logger.warning("web console not served: no console directory with an index.html found; set --console-dir")
            return nil
        }
        return ConsoleMiddleware(directory: directory, logger: logger)
    }
}
