import Testing
@testable import Tools

@Test func toolSpecDefaults() { #expect(ToolSpec(name: "x", description: "", parameters: [:], executor: .server).effectiveTimeout == .seconds(60)) }
