import AgentHostTesting
import AsyncHTTPClient
import ChatBridge
import Foundation
import Hummingbird
import HummingbirdTesting
import NIOCore
import Testing

@testable import AgentHost

@Suite("POST /api/chats/stream_chat/")
struct StreamChatTests {
    @Test func streamsFramesInOrderAndStoresTheChat() async throws {
        try await TestHarness.withUpstream { harness, upstream in
            try await harness.addWorkspace("Docs") { $0.systemPrompt = "Be terse." }
            await upstream.enqueue(VendorStream.openAI(tokens: ["Hi", " there", "!"], usage: Usage(promptTokens: 20, completionTokens: 3)))
            try await harness.test { client in
                let response = try await client.send(.post, "/api/chats/stream_chat", json: #"{"message": "hello", "workspace": "docs"}"#)
                #expect(response.status == .ok)
                #expect(response.headers[.contentType]?.hasPrefix("text/event-stream") == true)
                let events = response.events
                #expect(events.map(\.event) == ["chat_start", "chat_token", "chat_token", "chat_token", "chat_complete"])
                #expect(events.map(\.id) == ["0", "1", "2", "3", "4"])
                let frames = response.frames
                let chatId = try #require(frames[0]["chat_id"]?.stringValue)
                #expect(frames.allSatisfy { $0["chat_id"]?.stringValue == chatId })
                #expect(frames[0]["message"] == "Processing...")
                #expect(frames.map { $0["seq"]?.intValue } == [0, 1, 2, 3, 4])
                let complete = frames[4]
                #expect(complete["response"] == "Hi there!")
                #expect(complete["usage"] == ["prompt_tokens": 20, "completion_tokens": 3])
                #expect(complete["metrics"]?["ttft_ms"]?.doubleValue != nil)
                let dbId = try #require(complete["db_id"]?.intValue)

                let stored = try #require(try await harness.store.chat(id: Int64(dbId), viewer: .singleUser)?.chat)
                #expect(stored.prompt == "hello")
                #expect(stored.response == "Hi there!")
                #expect(stored.status == .completed)
                #expect(stored.chatUuid == chatId)
                #expect(stored.promptTokens == 20)

                let sent = try #require(await upstream.exchanges.first?.body["messages"]?.arrayValue)
                #expect(sent.first?["role"] == "system")
                #expect(sent.first?["content"]?.stringValue?.hasPrefix("Be terse.") == true)
                #expect(sent.last == ["role": "user", "content": "hello"])

                let events_ = try await harness.store.writer.read { db in try EventLog.fetchAll(db) }
                #expect(events_.count == 1)
                #expect(events_.first?.metadata["completion_tokens"] == "3")
                #expect(!events_.description.contains("hello"), "no prompt text in telemetry")
            }
        }
    }

    @Test func historyWindowFollowsIncludeFlagAndThread() async throws {
        try await TestHarness.withUpstream { harness, upstream in
            let workspace = try await harness.addWorkspace("Docs") { $0.historyLength = 2 }
            let thread = try await harness.store.createThread(workspaceId: workspace.id!, userId: nil, name: "Other")
            try await harness.addChat(workspace: workspace, prompt: "old 1", response: "r1")
            let excluded = try await harness.addChat(workspace: workspace, prompt: "old 2", response: "r2")
            try await harness.addChat(workspace: workspace, prompt: "old 3", response: "r3")
            try await harness.addChat(workspace: workspace, thread: thread, prompt: "elsewhere", response: "r")
            _ = try await harness.store.setInclude(chatId: excluded.id!, include: false, viewer: .singleUser)
            try await harness.test { client in
                _ = try await client.send(.post, "/api/chats/stream_chat", json: #"{"message": "new", "workspace": "docs"}"#)
                let messages = try #require(await upstream.exchanges.last?.body["messages"]?.arrayValue)
                let user = messages.filter { $0["role"] == "user" }.compactMap { $0["content"]?.stringValue }
                #expect(user == ["old 1", "old 3", "new"], "the last 2 included chats of the default thread, oldest first")

                _ = try await client.send(.post, "/api/chats/stream_chat", json: #"{"message": "in thread", "workspace": "docs", "thread": "other"}"#)
                let threadMessages = try #require(await upstream.exchanges.last?.body["messages"]?.arrayValue)
                #expect(threadMessages.filter { $0["role"] == "user" }.compactMap { $0["content"]?.stringValue } == ["elsewhere", "in thread"])
                let stored = try await harness.store.history(HistoryQuery(workspaceId: workspace.id!, threadId: thread.id), viewer: .singleUser)
                #expect(stored.last?.chat.prompt == "in thread")
            }
        }
    }

    @Test func queryModeWithoutDocumentsRefusesWithoutCallingTheModel() async throws {
        try await TestHarness.withUpstream { harness, upstream in
            try await harness.addWorkspace("Docs") { $0.chatMode = .query; $0.queryRefusalResponse = "Nothing on that here." }
            try await harness.test { client in
                let response = try await client.send(.post, "/api/chats/stream_chat", json: #"{"message": "anything?", "workspace": "docs"}"#)
                let frames = response.frames
                #expect(frames.map { $0["type"] } == ["chat_start", "chat_token", "chat_complete"])
                #expect(frames.last?["response"] == "Nothing on that here.")
                #expect(await upstream.exchanges.isEmpty)
                // A chat-mode request in the same workspace does call the model.
                _ = try await client.send(.post, "/api/chats/stream_chat", json: #"{"message": "hi", "workspace": "docs", "mode": "chat"}"#)
                #expect(await upstream.exchanges.count == 1)
            }
        }
    }

    @Test func upstreamFailureMidStreamKeepsThePartialResponse() async throws {
        try await TestHarness.withUpstream { harness, upstream in
            try await harness.addWorkspace("Docs")
            await upstream.enqueue(UpstreamScript(parts: [
                VendorStream.openAIChunk(delta: ["content": "Half an "]),
                VendorStream.openAIChunk(delta: ["content": "answer"]),
                .bytes(#"data: {"error": {"message": "GPU fell over"}}"# + "\n\n"),
            ]))
            try await harness.test { client in
                let response = try await client.send(.post, "/api/chats/stream_chat", json: #"{"message": "q", "workspace": "docs"}"#)
                let last = try #require(response.frames.last)
                #expect(last["type"] == "error")
                #expect(last["code"] == "provider_error")
                #expect(last["message"]?.stringValue?.contains("GPU fell over") == true)
                let dbId = try #require(last["db_id"]?.intValue)
                let stored = try #require(try await harness.store.chat(id: Int64(dbId), viewer: .singleUser)?.chat)
                #expect(stored.response == "Half an answer")
                #expect(stored.status == .failed)
            }
        }
    }

    @Test func clientDisconnectStoresPartialAndClosesTheUpstream() async throws {
        try await TestHarness.withUpstream { harness, upstream in
            try await harness.addWorkspace("Docs")
            let tokens = (0..<200).map { "t\($0) " }
            await upstream.enqueue(VendorStream.openAI(tokens: tokens).paced(.milliseconds(20)))
            try await harness.testLive { client in
                let port = try #require(client.port)
                let request = {
                    var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)/api/chats/stream_chat/")
                    request.method = .POST
                    request.headers.add(name: "content-type", value: "application/json")
                    request.body = .bytes(ByteBuffer(string: #"{"message": "long please", "workspace": "docs"}"#))
                    return request
                }()
                // Read a few tokens, then hang up.
                try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask {
                        let response = try await TestHarness.httpClient.execute(request, timeout: .seconds(10))
                        var parser = SSEParser()
                        var tokens = 0
                        for try await buffer in response.body {
                            tokens += parser.parse(buffer.readableBytesView).filter { $0.event == "chat_token" }.count
                            if tokens >= 5 { return }
                        }
                    }
                    try await group.next()
                    group.cancelAll()
                }
                let exchanges = await upstream.waitForEndedExchanges(1)
                #expect(exchanges.first?.abandoned == true, "the upstream request is cancelled when the client leaves")
                var stored: Chat?
                for _ in 0..<100 {
                    stored = try await harness.store.chats(ChatListQuery(), viewer: .singleUser).chats.first?.chat
                    if stored?.status != .streaming { break }
                    try await Task.sleep(for: .milliseconds(20))
                }
                #expect(stored?.status == .cancelled)
                #expect(stored?.response.hasPrefix("t0 t1 t2 t3 t4") == true)
                #expect((stored?.response.count ?? 0) < tokens.joined().count)
            }
        }
    }

    @Test func dailyLimitUnderConcurrencyAnswers429BeforeStreaming() async throws {
        // The fair-use cap on concurrent generations would refuse some of the 20 first; this is about the daily limit.
        try await TestHarness.withUpstream(configure: { $0.fairUse.maxGenerationsPerUser = 20 }) { harness, upstream in
            try await harness.addWorkspace("Docs")
            let alice = try await harness.addUser("alice", dailyLimit: 3)
            let headers = try await harness.headers(for: alice)
            try await harness.test { client in
                let statuses = try await withThrowingTaskGroup(of: (HTTPResponse.Status, JSONValue?).self) { group in
                    for index in 0..<20 {
                        group.addTask {
                            let response = try await client.send(.post, "/api/chats/stream_chat", headers: headers,
                                                                 json: #"{"message": "m\#(index)", "workspace": "docs"}"#)
                            return (response.status, response.status == .ok ? nil : try response.json)
                        }
                    }
                    return try await group.reduce(into: []) { $0.append($1) }
                }
                #expect(statuses.filter { $0.0 == .ok }.count == 3)
                let refused = statuses.filter { $0.0 == .tooManyRequests }
                #expect(refused.count == 17)
                let error = try #require(refused.first?.1?["error"])
                #expect(error["code"] == "rate_limited")
                #expect(error["limit"] == 3)
                #expect(error["used"] == 3)
                #expect(error["resets_at"]?.stringValue.flatMap(Timestamp.date(from:)) != nil)
                #expect(await upstream.exchanges.count == 3)
            }
        }
    }

    @Test func badRequestsAreRefusedBeforeTheStream() async throws {
        try await TestHarness.withUpstream { harness, upstream in
            try await harness.addWorkspace("Docs")
            try await harness.test { client in
                let cases: [(String, HTTPResponse.Status, String)] = [
                    ("{", .badRequest, "invalid_json"),
                    (#"{"workspace": "docs"}"#, .badRequest, "validation_failed"),
                    (#"{"message": "hi"}"#, .badRequest, "validation_failed"),
                    (#"{"message": "   ", "workspace": "docs"}"#, .badRequest, "validation_failed"),
                    (#"{"message": 5, "workspace": "docs"}"#, .badRequest, "validation_failed"),
                    (#"{"message": "hi", "workspace": "docs", "mode": "shout"}"#, .badRequest, "validation_failed"),
                    (#"{"message": "hi", "workspace": "nope"}"#, .notFound, "not_found"),
                    (#"{"message": "hi", "workspace": "docs", "thread": "nope"}"#, .notFound, "not_found"),
                    (#"{"message": "hi", "workspace": "docs", "attachments": [{"name": "a", "mime": "text/plain", "content_base64": "!!!"}]}"#,
                     .badRequest, "validation_failed"),
                    (#"{"message": "hi", "workspace": "docs", "attachments": [{"name": "a.exe", "mime": "application/x-msdownload", "content_base64": "AAAA"}]}"#,
                     .badRequest, "validation_failed"),
                ]
                for (body, status, code) in cases {
                    let response = try await client.send(.post, "/api/chats/stream_chat", json: body)
                    #expect(response.status == status, "\(body)")
                    #expect(response.errorCode == code, "\(body): \(response.text)")
                }
                #expect(await upstream.exchanges.isEmpty)
            }
        }
    }

    @Test func textAttachmentsAreInlinedAndImagesPassed() async throws {
        try await TestHarness.withUpstream { harness, upstream in
            try await harness.addWorkspace("Docs")
            let text = Data("col_a,col_b\n1,2\n".utf8).base64EncodedString()
            let png = Data([0x89, 0x50, 0x4E, 0x47]).base64EncodedString()
            try await harness.test { client in
                let response = try await client.send(.post, "/api/chats/stream_chat", json: #"""
                    {"message": "summarise", "workspace": "docs", "session_id": "s1", "attachments": [
                      {"name": "data.csv", "mime": "text/csv", "content_base64": "\#(text)"},
                      {"name": "pic.png", "mime": "image/png", "content_base64": "\#(png)"}]}
                    """#)
                #expect(response.status == .ok)
                let user = try #require(await upstream.exchanges.first?.body["messages"]?.arrayValue?.last)
                let parts = try #require(user["content"]?.arrayValue)
                #expect(parts.first?["text"]?.stringValue?.contains("col_a,col_b") == true)
                #expect(parts.last?["image_url"]?["url"]?.stringValue?.hasPrefix("data:image/png;base64,") == true)
                let chat = try #require(try await harness.store.chats(ChatListQuery(), viewer: .singleUser).chats.first?.chat)
                #expect(chat.attachments.map(\.name) == ["data.csv", "pic.png"])
                #expect(chat.apiSessionId == "s1")
                #expect(chat.prompt == "summarise", "the stored prompt is what the user typed")
            }
        }
    }

    @Test func keepAliveCommentsFlowWhileTheModelIsSilent() async throws {
        try await TestHarness.withUpstream(configure: { $0.keepAliveInterval = .milliseconds(50) }) { harness, upstream in
            try await harness.addWorkspace("Docs")
            await upstream.enqueue(UpstreamScript(parts: [.pause(.milliseconds(400))] + VendorStream.openAI(tokens: ["late"]).parts))
            try await harness.test { client in
                let response = try await client.send(.post, "/api/chats/stream_chat", json: #"{"message": "hi", "workspace": "docs"}"#)
                #expect(response.text.contains(": keep-alive\n\n"))
                #expect(response.frames.last?["response"] == "late", "comments do not disturb the frames")
            }
        }
    }

    @Test func metricsCountChatsTokensAndLatency() async throws {
        try await TestHarness.withUpstream { harness, upstream in
            try await harness.addWorkspace("Docs")
            await upstream.enqueue(VendorStream.openAI(tokens: ["a", "b"], usage: Usage(promptTokens: 12, completionTokens: 2)))
            try await harness.test { client in
                _ = try await client.send(.post, "/api/chats/stream_chat", json: #"{"message": "hi", "workspace": "docs"}"#)
                _ = try await client.send(.post, "/api/chats/stream_chat", json: #"{"message": "hi", "workspace": "nope"}"#)
                let metrics = try await client.send(.get, "/metrics")
                #expect(metrics.status == .ok)
                let text = metrics.text
                #expect(text.contains(#"agenthost_chats_total{transport="sse",status="completed"} 1"#) || text.contains(#"agenthost_chats_total{status="completed",transport="sse"} 1"#))
                #expect(text.contains(#"agenthost_tokens_total{direction="in"} 12"#))
                #expect(text.contains(#"agenthost_tokens_total{direction="out"} 2"#))
                #expect(text.contains("agenthost_time_to_first_token_seconds_bucket"))
                #expect(text.contains("agenthost_chat_duration_seconds_count"))
                #expect(text.contains("agenthost_streams_in_flight"))
                #expect(text.contains(#"agenthost_errors_total{code="not_found"} 1"#))
                #expect(text.contains("agenthost_http_requests_total"))
            }
        }
    }

    @Test func workspaceProviderOverrideUsesThatVendor() async throws {
        try await TestHarness.withUpstream(kind: .anthropic) { harness, upstream in
            try await harness.addWorkspace("Claude") { $0.model = "claude-special" }
            await upstream.enqueue(VendorStream.anthropic(tokens: ["Bonjour"]))
            try await harness.test { client in
                let response = try await client.send(.post, "/api/chats/stream_chat", json: #"{"message": "hi", "workspace": "claude"}"#)
                #expect(response.frames.last?["response"] == "Bonjour")
                #expect(await upstream.exchanges.first?.body["model"] == "claude-special")
                #expect(await upstream.exchanges.first?.path == "/v1/messages")
            }
        }
    }
}

@Suite("POST /v1/chat/completions")
struct OpenAICompatibleTests {
    @Test func nonStreamingCompletionIsStoredAsAChat() async throws {
        try await TestHarness.withUpstream { harness, upstream in
            try await harness.addWorkspace("Docs")
            await upstream.enqueue(VendorStream.openAI(tokens: ["4"], usage: Usage(promptTokens: 9, completionTokens: 1)))
            try await harness.test { client in
                let response = try await client.send(.post, "/v1/chat/completions", json: #"""
                    {"model": "docs", "messages": [{"role": "system", "content": "math"}, {"role": "user", "content": "1+1?"},
                     {"role": "assistant", "content": "2"}, {"role": "user", "content": [{"type": "text", "text": "2+2?"}]}]}
                    """#)
                #expect(response.status == .ok)
                let body = try response.json
                #expect(body["object"] == "chat.completion")
                #expect(body["model"] == "docs")
                #expect(body["choices"]?.arrayValue?.first?["message"]?["content"] == "4")
                #expect(body["usage"]?["total_tokens"] == 10)
                let sent = try #require(await upstream.exchanges.first?.body["messages"]?.arrayValue)
                #expect(sent.compactMap { $0["content"]?.stringValue }.suffix(3) == ["1+1?", "2", "2+2?"])
                #expect(sent.first?["content"]?.stringValue?.contains("math") == true)
                let chat = try #require(try await harness.store.chats(ChatListQuery(), viewer: .singleUser).chats.first)
                #expect(chat.workspaceSlug == "docs")
                #expect(chat.chat.prompt == "2+2?")
                #expect(chat.chat.response == "4")
            }
        }
    }

    @Test func streamingCompletionEndsWithDone() async throws {
        try await TestHarness.withUpstream { harness, upstream in
            try await harness.addWorkspace("Docs")
            await upstream.enqueue(VendorStream.openAI(tokens: ["a", "b"]))
            try await harness.test { client in
                let response = try await client.send(.post, "/v1/chat/completions", json: #"""
                    {"model": "docs", "stream": true, "stream_options": {"include_usage": true}, "messages": [{"role": "user", "content": "x"}]}
                    """#)
                let data = response.events.map(\.data)
                #expect(data.last == "[DONE]")
                let chunks = data.dropLast().compactMap { try? JSONValue(parsing: $0) }
                let text = chunks.compactMap { $0["choices"]?.arrayValue?.first?["delta"]?["content"]?.stringValue }.joined()
                #expect(text == "ab")
                #expect(chunks.contains { $0["choices"]?.arrayValue?.first?["finish_reason"] == "stop" })
                #expect(chunks.last?["usage"]?["completion_tokens"] != nil)
            }
        }
    }

    @Test func unknownModelAndBadMessagesAreErrors() async throws {
        try await TestHarness.withUpstream { harness, _ in
            try await harness.addWorkspace("Docs")
            try await harness.test { client in
                let unknown = try await client.send(.post, "/v1/chat/completions", json: #"{"model": "gpt-9", "messages": [{"role": "user", "content": "x"}]}"#)
                #expect(unknown.status == .notFound)
                let noUser = try await client.send(.post, "/v1/chat/completions", json: #"{"model": "docs", "messages": [{"role": "system", "content": "x"}]}"#)
                #expect(noUser.errorCode == "validation_failed")
                let noMessages = try await client.send(.post, "/v1/chat/completions", json: #"{"model": "docs"}"#)
                #expect(noMessages.errorCode == "validation_failed")
            }
        }
    }
}
