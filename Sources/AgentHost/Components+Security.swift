extension Components {
    /// The origins and hosts browsers may use (PROTOCOL §2).
    var browserPolicy: BrowserPolicy { BrowserPolicy(settings: configuration.security) }
}
