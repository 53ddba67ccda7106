import ChatBridge

extension ToolSpec {
    /// Throws a ``ToolError`` (for the model to read) when `arguments` do not match ``parameters``.
    public func validate(arguments: JSONValue) throws {
        try JSONSchemaValidator.check(arguments, against: parameters, toolName: name)
    }
}
