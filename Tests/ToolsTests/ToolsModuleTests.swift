import Testing
@testable import Tools

@Test func toolsModuleLoads() { #expect(ToolsVersion.value == "0.1.0") }
