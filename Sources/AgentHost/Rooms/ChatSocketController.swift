import ChatBridge
import CoreMetrics
import Foundation
import Hummingbird
import HummingbirdWebSocket
import Logging
import NIOCore
import NIOWebSocket
import Synchronization

/// Limits of `ws/chat`, all configurable.
struct ChatSocketLimits: Sendable {
    /// Frames a connection may have queued before it is cut off as too slow.
    var outboundBuffer = 1024
    var maxFrameBytes = 8 << 20
    /// How long a finished generation stays in memory for fast resumes (later ones replay from the run log).
    var generationRetention: Duration = .seconds(120)
}

/// `ws/chat/{workspace_slug}/?thread=` (PROTOCOL §4): the chat pipeline over a WebSocket, in rooms.
///
/// Every connection allowed to see a conversation joins its room and gets every chat frame, tagged
/// with `user`; typing goes to the others; generations are runs (PROTOCOL §8) that outlive the socket
/// that started them (a reconnecting client resumes, after a restart too); a client that cannot
/// keep up is closed with code 4001.
///
/// A class: every connection's task and session refer to it, and as a value (900 bytes of
/// dependencies) it was copied into frames an open connection keeps.
final class ChatSocketController: Sendable {
    let chats: any ChatStore
    let pipeline: ChatPipeline
    let bus: any RoomBus
    let runner: ChatRunner
    let runs: RunRegistry
    let runLog: any RunLogStore
    /// Caps on concurrent generations (fair use), shared with SSE and `/v1`.
    let slots: GenerationSlots
    let limits: ChatSocketLimits
    /// The metrics every connection updates, made once: per connection they were objects each open
    /// socket kept, and a registry lookup on every connect.
    let instruments: ChatSocketInstruments
    /// The other instances on the database: members there watch this room's generations too (PROTOCOL §9).
    let peers: any ClusterPeers
    /// Pings.
    let webSocket: WebSocketSettings
    /// Where the connections' writers run.
    let writers: WebSocketWriters

    init(chats: any ChatStore, pipeline: ChatPipeline, bus: any RoomBus, runner: ChatRunner, runs: RunRegistry,
         runLog: any RunLogStore, slots: GenerationSlots, limits: ChatSocketLimits, metrics: any MetricsFactory,
         peers: any ClusterPeers = SingleInstance(), webSocket: WebSocketSettings = WebSocketSettings(),
         writers: WebSocketWriters) {
        self.chats = chats
        self.pipeline = pipeline
        self.bus = bus
        self.runner = runner
        self.runs = runs
        self.runLog = runLog
        self.slots = slots
        self.limits = limits
        instruments = ChatSocketInstruments(factory: metrics)
        self.peers = peers
        self.webSocket = webSocket
        self.writers = writers
    }

    var locator: RunLocator { RunLocator(runs: runs, store: runLog, peers: peers) }

    func addRoutes(to router: Router<AppRequestContext>) {
        let chats = chats
        router.webSocket("ws/chat/:slug", maxMessageBytes: limits.maxFrameBytes, tasks: writers) { request, context in
            let principal = try context.identity()
            let slug = try context.parameters.require("slug")
            let threadSlug = try QueryParameters(request).string("thread")
            let workspace = try await chats.requireWorkspace(slug: slug)
            _ = try await chats.requireThread(slug: threadSlug, in: workspace, viewer: principal.viewer)
            // The connection keeps only what this closure captures, not the upgrade request.
            return { connection in
                try await self.open(slug: slug, threadSlug: threadSlug, principal: principal, connection: connection)
            }
        }
    }

    /// Looks the conversation up, joins its room, queues the `connected` frame and starts writing.
    private func open(slug: String, threadSlug: String?, principal: Principal,
                      connection: WebSocketConnection) async throws -> ChatSocketSession {
        let workspace = try await chats.requireWorkspace(slug: slug)
        let thread = try await chats.requireThread(slug: threadSlug, in: workspace, viewer: principal.viewer)
        try await WebSocketKeepAliveHandler.install(on: connection.channel, interval: webSocket.pingInterval)
        let room = RoomKey(workspaceId: workspace.id!, threadId: thread?.id,
                           defaultThreadOwner: thread == nil ? principal.userId : nil)
        let session = ChatSocketSession(
            controller: self, workspace: workspace, thread: thread, room: room, principal: principal,
            member: RoomMember(userId: principal.userId, username: principal.username, bufferLimit: limits.outboundBuffer),
            logger: connection.logger)
        try await session.open()
        session.startWriting(to: connection)
        return session
    }
}

/// One `ws/chat` connection.
///
/// A class, so the connection's tasks and closures share one copy: as a struct (1.4 KB with the
/// controller's dependencies inline) it was copied into each child task's closure and kept in the
/// async frames an idle connection holds for as long as it is open.
final class ChatSocketSession: WebSocketSession {
    let controller: ChatSocketController
    let workspace: Workspace
    let thread: ChatThread?
    let room: RoomKey
    let principal: Principal
    let member: RoomMember
    let logger: Logger

    init(controller: ChatSocketController, workspace: Workspace, thread: ChatThread?, room: RoomKey, principal: Principal,
         member: RoomMember, logger: Logger) {
        self.controller = controller
        self.workspace = workspace
        self.thread = thread
        self.room = room
        self.principal = principal
        self.member = member
        self.logger = logger
    }

    private var bus: any RoomBus { controller.bus }
    private var userTag: JSONValue { principal.username.map(JSONValue.string) ?? .null }
    private var instruments: ChatSocketInstruments { controller.instruments }

    /// Joins the room and queues the `connected` frame (PROTOCOL §4).
    func open() async throws {
        instruments.connections.increment()
        await bus.join(member, room: room)
        await updateRoomGauges()
        do {
            try await sayConnected()
        } catch {
            await close()
            throw error
        }
    }

    /// Leaves the room however the connection ends: a socket that ends with an error (a broken
    /// frame, a reset connection) must not stay a member.
    func close() async {
        member.finish()
        await bus.leave(member, room: room)
        await updateRoomGauges()
        instruments.connections.decrement()
    }

    private func updateRoomGauges() async {
        instruments.rooms.set(await bus.roomCount)
        instruments.members.set(await bus.memberCount)
    }

    private func sayConnected() async throws {
        let welcome = try await controller.chats.welcomeMessages(forUserId: principal.userId)
        var running = controller.runs.runningGenerations(in: room)
        let here = Set(running.map(\.chatId))
        running += await controller.peers.generations(in: room).filter { !here.contains($0.chatId) }
        member.deliver([
            "generations": .array(running.map { ["chat_id": .string($0.chatId), "seq": .number(Double($0.lastSeq))] }),
            "type": "connected", "connection_id": .string(member.id), "workspace": .string(workspace.slug),
            "thread": thread.map { .string($0.slug) } ?? .null, "user": userTag,
            "welcome_messages": .array(welcome.map { message in
                ["id": .number(Double(message.id ?? 0)), "user_message": message.userMessage.map(JSONValue.string) ?? .null,
                 "response": .string(message.response), "order_index": .number(Double(message.orderIndex))]
            }),
        ])
    }

    /// Writes the member's outbox to the client, by a writer that runs only while there is something
    /// to send, until the connection closes (the client left, too slow, a failed write).
    func startWriting(to connection: WebSocketConnection) {
        let member = member, instruments = instruments, logger = logger
        member.outbox.write(to: connection.outbound, channel: connection.channel, through: controller.writers,
                            onFrame: { instruments.framesOut.increment() }) {
            instruments.slowDisconnects.increment()
            logger.warning("closing slow websocket", metadata: ["connection_id": "\(member.id)"])
        }
    }

    /// A message of the frame loop (``WebSocketFrameLoop``), handled in the session's short-lived task.
    func receive(_ message: [UInt8]) async {
        instruments.framesIn.increment()
        await handle(message)
    }

    func refuse(_ error: APIError) {
        member.deliver(error.frame())
    }

    func end() async {
        await close()
    }

    /// Runs in the connection's session task (``WebSocketInbox``), which ends when no message is
    /// waiting: an idle connection keeps none of the stack a frame needed.
    private func handle(_ bytes: [UInt8]) async {
        let frame: JSONValue
        do {
            frame = try JSONValue(parsing: bytes)
        } catch {
            member.deliver(APIError(.invalidJSON, "The frame is not valid JSON: \(error).").frame())
            return
        }
        guard case .object = frame, let type = frame["type"]?.stringValue else {
            member.deliver(APIError.validation("A frame is a JSON object with a string 'type'.").frame())
            return
        }
        var ids: [String: JSONValue] = [:]
        if let chatId = frame["chat_id"] { ids["chat_id"] = chatId }
        do {
            switch type {
            case "chat":
                try await startChat(try APICoding.decode(ChatFrameRequest.self, from: bytes))
            case "typing":
                let request = try APICoding.decode(TypingRequest.self, from: bytes)
                if await bus.noteTyping(member, isTyping: request.isTyping, room: room) {
                    await bus.publish(["type": "typing", "user": userTag, "is_typing": .bool(request.isTyping)],
                                      room: room, excluding: member.id)
                }
            case "feedback":
                let request = try APICoding.decode(FeedbackRequest.self, from: bytes)
                let chats = controller.chats, viewer = principal.viewer
                let entry = try await chats.setFeedback(chatId: request.chatId, feedback: request.feedback.value, viewer: viewer)
                let value: JSONValue = entry.chat.feedback.map(JSONValue.bool) ?? .null
                // To the room the chat belongs to (setFeedback already checked the caller may see it),
                // which need not be this connection's room; then the ack, so an ack means the room was told.
                let chat = entry.chat
                let chatRoom = RoomKey(workspaceId: chat.workspaceId, threadId: chat.threadId,
                                       defaultThreadOwner: chat.threadId == nil ? chat.userId : nil)
                await bus.publish(["type": "feedback", "chat_id": .number(Double(request.chatId)), "feedback": value, "user": userTag],
                                  room: chatRoom, excluding: member.id)
                member.deliver(["type": "feedback_ack", "chat_id": .number(Double(request.chatId)), "feedback": value])
            case "cancel":
                let request = try APICoding.decode(GenerationRequest.self, from: bytes)
                try await cancel(request.chatId)
            case "resume":
                let request = try APICoding.decode(ResumeRequest.self, from: bytes)
                try await resume(request.chatId, after: request.afterSeq ?? -1)
            case "ping":
                member.deliver(["type": "pong"])
            default:
                throw APIError(.unknownType, "Unknown frame type '\(type)'. Send chat, typing, feedback, cancel, resume or ping.")
            }
        } catch {
            let apiError = APIError.from(error)
            if apiError.code == .internal { logger.error("chat frame failed", metadata: ["error": "\(error)"]) }
            member.deliver(apiError.frame(ids))
        }
    }

    /// Runs the shared pipeline for a `chat` frame; the generation belongs to the room, not the
    /// socket: every member watches it from its first frame.
    private func startChat(_ request: ChatFrameRequest) async throws {
        let slot = try controller.slots.acquire(for: principal, socket: member.id)
        do {
            let prepared = try await controller.pipeline.prepare(
                ChatRequest(message: request.message, attachments: request.attachments ?? [], mode: request.mode,
                            sessionId: request.sessionId),
                workspace: workspace, threadId: thread?.id, caller: principal.chatCaller)
            let members = await bus.members(of: room)
            let run = controller.runner.start(prepared, transport: "ws", room: room, frameExtra: ["user": userTag],
                                              watchers: members.map(\.outbox), whenDone: { _ in slot.release() })
            await controller.peers.announce(generation: run, in: room)
        } catch {
            // Only the preparation throws: once started, the generation releases its slot.
            slot.release()
            throw error
        }
    }

    /// Replays a generation of this room after `afterSeq`, then live: while it runs (here or on
    /// another instance, or ended a short while ago), else from the run log. A member already
    /// watching it gets nothing twice.
    private func resume(_ chatId: String, after afterSeq: Int) async throws {
        switch try await controller.locator.locate(chatId, viewer: principal.viewer, room: room) {
        case .live(let run) where run.record.kind == .chat && run.record.room == room.description:
            if !run.isWatched(by: member.outbox) { run.attach(member.outbox, after: afterSeq) }
        case .logged(let record) where record.kind == .chat && record.room == room.description:
            member.outbox.addReplay(StoredReplay(store: controller.runLog, runId: chatId, after: afterSeq, into: member.outbox,
                                                 ids: ["chat_id": .string(chatId)], logger: logger))
        case .live, .logged, .unknown:
            throw APIError.notFound("Generation '\(chatId)' is not logged for this conversation; "
                                        + "GET /api/chats/history/ has the stored chats")
        }
    }

    /// Stops a generation of this room, wherever it runs.
    private func cancel(_ chatId: String) async throws {
        if let run = controller.runs.lookup(chatId) {
            guard run.record.room == room.description else { throw APIError.notFound("Generation '\(chatId)' in this conversation") }
            return run.cancellation.request()
        }
        guard let record = try await controller.runLog.run(id: chatId, viewer: principal.viewer), record.endedAt == nil,
              record.room == room.description
        else {
            throw APIError.notFound("Generation '\(chatId)' in this conversation")
        }
        try await controller.peers.forward(.cancel, toRun: chatId)
    }
}

// MARK: Frames

struct ChatFrameRequest: Decodable, Sendable {
    var message: String
    var attachments: [Attachment]?
    var mode: Workspace.ChatMode?
    var sessionId: String?
}

struct TypingRequest: Decodable, Sendable {
    var isTyping: Bool
}

struct FeedbackRequest: Decodable, Sendable {
    var chatId: Int64
    var feedback: NullableBool

    /// `true`, `false` or `null`, and required.
    struct NullableBool: Decodable, Sendable {
        var value: Bool?
        init(from decoder: any Decoder) throws {
            let container = try decoder.singleValueContainer()
            value = container.decodeNil() ? nil : try container.decode(Bool.self)
        }
    }
}

struct GenerationRequest: Decodable, Sendable {
    var chatId: String
}

struct ResumeRequest: Decodable, Sendable {
    var chatId: String
    var afterSeq: Int?
}

/// The `ws/chat` metrics.
struct ChatSocketInstruments: Sendable {
    let framesIn: Counter
    let framesOut: Counter
    let slowDisconnects: Counter
    let connections: Meter
    let rooms: Meter
    let members: Meter

    init(factory: any MetricsFactory) {
        framesIn = Counter(label: "agenthost_ws_chat_frames_total", dimensions: [("direction", "in")], factory: factory)
        framesOut = Counter(label: "agenthost_ws_chat_frames_total", dimensions: [("direction", "out")], factory: factory)
        slowDisconnects = Counter(label: "agenthost_ws_chat_slow_disconnects_total", factory: factory)
        connections = Meter(label: "agenthost_ws_chat_connections", factory: factory)
        rooms = Meter(label: "agenthost_ws_chat_rooms", factory: factory)
        members = Meter(label: "agenthost_ws_chat_members", factory: factory)
    }
}
