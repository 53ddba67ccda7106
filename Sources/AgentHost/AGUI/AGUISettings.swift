/// Limits of the AG-UI endpoint (`--agui-*` flags).
package struct AGUISettings: Sendable, Equatable {
    /// Characters of AG-UI `context` a run may add to the agent's instructions (every model step
    /// sends them again).
    package var maxContextCharacters = 20_000

    package init() {}
}
