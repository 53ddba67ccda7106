import ChatBridge
import Foundation
import MCP
import Synchronization
import Testing

@testable import Tools

/// How MCP results, tools and environments become AgentHost's (Tools/MCP).
@Suite("MCP mapping")
struct MCPMappingTests {
    @Test func oneTextItemIsAString() {
        let result = MCPResultMapping.result(CallTool.Result(content: [.text(text: "hello", annotations: nil, _meta: nil)]))
        #expect(result == ExternalToolResult(output: .string("hello")))
        #expect(!result.isError)
    }

    @Test func severalItemsAreAnArrayAndBlobsAreDescribed() {
        let result = MCPResultMapping.result(CallTool.Result(content: [
            .text(text: "a", annotations: nil, _meta: nil),
            .image(data: "aGVsbG8=", mimeType: "image/png", annotations: nil, _meta: nil),
        ]))
        #expect(result.output == .array(["a", ["type": "image", "mime_type": "image/png", "base64_bytes": 8]]))
    }

    @Test func structuredContentWins() {
        let result = MCPResultMapping.result(CallTool.Result(
            content: [.text(text: "{\"sum\": 3}", annotations: nil, _meta: nil)],
            structuredContent: .object(["sum": .int(3), "parts": .array([.string("x"), .null])])))
        #expect(result.output == ["sum": 3, "parts": ["x", .null]])
    }

    @Test func anErrorResultIsAnErrorForTheModel() {
        let result = MCPResultMapping.result(CallTool.Result(content: [.text(text: "no such city", annotations: nil, _meta: nil)],
                                                            isError: true))
        #expect(result == ExternalToolResult(output: ["error": "no such city"], failure: .failed))
        let silent = MCPResultMapping.result(CallTool.Result(content: [], isError: true))
        #expect(silent.output["error"]?.stringValue?.isEmpty == false)
    }

    @Test func argumentsRoundTrip() {
        let arguments: JSONValue = ["text": "hi", "n": 2, "nested": ["ok": true, "list": [1.5, "x"]]]
        let values = MCPResultMapping.arguments(arguments)
        #expect(values["text"] == .string("hi"))
        #expect(MCPResultMapping.json(.object(values)) == arguments)
    }

    private func server(_ name: String = "weather", approval: Bool? = nil) -> MCPServerConfiguration {
        MCPServerConfiguration(name: name, transport: .stdio, command: "x", requiresApproval: approval)
    }

    @Test func toolsArePrefixedWithTheirServerAndKeepItsSettings() throws {
        let tool = MCP.Tool(name: "forecast", description: "The forecast",
                            inputSchema: .object(["type": "object", "properties": .object(["city": .object(["type": "string"])]),
                                                  "required": .array(["city"])]))
        let spec = try MCPToolNaming.spec(for: tool, server: server(approval: true), timeoutMilliseconds: 1234).get()
        #expect(spec.name == "weather__forecast")
        #expect(spec.description == "The forecast")
        #expect(spec.executor == .server)
        #expect(spec.requiresApproval)
        #expect(spec.timeoutMilliseconds == 1234)
        #expect(throws: (any Error).self) { try spec.validate(arguments: ["city": 3]) }
        try spec.validate(arguments: ["city": "Oslo"])
    }

    @Test func aSchemaWithoutTypeIsAnObjectSchema() throws {
        let tool = MCP.Tool(name: "ping", description: nil, inputSchema: .object([:]))
        let spec = try MCPToolNaming.spec(for: tool, server: server(), timeoutMilliseconds: 1).get()
        #expect(spec.parameters == ["type": "object"])
        #expect(spec.description == "ping")
    }

    @Test(arguments: [
        MCP.Tool(name: "has.dot", description: nil, inputSchema: .object(["type": "object"])),
        MCP.Tool(name: String(repeating: "x", count: 60), description: nil, inputSchema: .object(["type": "object"])),
        MCP.Tool(name: "arrayish", description: nil, inputSchema: .object(["type": "array"])),
        MCP.Tool(name: "broken", description: nil, inputSchema: .object(["type": "object", "properties": .string("nope")])),
    ])
    func unusableToolsAreRefused(_ tool: MCP.Tool) {
        #expect(throws: MCPToolNaming.Problem.self) { try MCPToolNaming.spec(for: tool, server: server(), timeoutMilliseconds: 1).get() }
    }

    @Test func childrenGetOnlyTheBasicsAndTheirOwnVariables() {
        let environment = MCPConnection.childEnvironment(["API_KEY": "k", "PATH": "/opt/bin"])
        #expect(environment["API_KEY"] == "k")
        #expect(environment["PATH"] == "/opt/bin")
        #expect(Set(environment.keys).isSubset(of: ["API_KEY", "PATH", "HOME", "LANG", "TMPDIR"]))
    }

    @Test func linesAreFramedAcrossReads() {
        let framer = LineFramer()
        #expect(framer.append(Data("{\"a\":1}\n{\"b\"".utf8)) == [Data("{\"a\":1}".utf8)])
        #expect(framer.append(Data(":2}\r\n\n".utf8)) == [Data("{\"b\":2}\r".utf8)])
    }

    @Test func aRaceThatTimesOutAbandonsTheOperation() async {
        let abandoned = Mutex<[String]>([])
        let gate = Gate()
        let outcome = await MCPConnection.race(.milliseconds(50)) { () async throws -> Int in
            await gate.wait()
            throw CancellationError()
        } abandon: { reason in
            abandoned.withLock { $0.append(reason) }
            gate.open()
        }
        guard case .timedOut = outcome else { Issue.record("expected a timeout, got \(outcome.summary)"); return }
        #expect(abandoned.withLock { $0 } == ["timeout"])
    }

    @Test func aRaceThatAnswersIsNotAbandoned() async {
        let abandoned = Mutex(false)
        let outcome = await MCPConnection.race(.seconds(30)) { 42 } abandon: { _ in abandoned.withLock { $0 = true } }
        guard case .value(let value) = outcome else { Issue.record("expected a value, got \(outcome.summary)"); return }
        #expect(value == 42)
        #expect(!abandoned.withLock { $0 })
    }

    @Test func aCancelledCallerAbandonsAsCancelled() async {
        let abandoned = Mutex<[String]>([])
        let gate = Gate()
        let task = Task {
            await MCPConnection.race(.seconds(30)) { () async throws -> Int in
                await gate.wait()
                return 0
            } abandon: { reason in
                abandoned.withLock { $0.append(reason) }
                gate.open()
            }
        }
        try? await Task.sleep(for: .milliseconds(50))
        task.cancel()
        let outcome = await task.value
        guard case .cancelled = outcome else { Issue.record("expected cancelled, got \(outcome.summary)"); return }
        #expect(abandoned.withLock { $0 } == ["cancelled"])
    }
}

/// A wait that, like the SDK's pending requests, ignores task cancellation and ends only when opened.
private final class Gate: Sendable {
    private let state = Mutex<(opened: Bool, waiter: CheckedContinuation<Void, Never>?)>((false, nil))

    func wait() async {
        await withCheckedContinuation { continuation in
            let openAlready = state.withLock { state -> Bool in
                if state.opened { return true }
                state.waiter = continuation
                return false
            }
            if openAlready { continuation.resume() }
        }
    }

    func open() {
        let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
            state.opened = true
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume()
    }
}
