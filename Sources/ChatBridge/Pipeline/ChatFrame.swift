/// One event of the chat stream (PROTOCOL §4), the same for SSE and `ws/chat`.
public struct ChatFrame: Sendable, Equatable {
    public enum Kind: Sendable, Equatable {
        case start(message: String)
        /// The request waits for a provider slot; `position` 1 is next (PROTOCOL §4 queuing).
        case queued(position: Int)
        case token(String)
        case sources([ChatSource])
        case complete(ChatCompletion)
        case error(APIError, dbId: Int64?)
    }

    public var chatId: String
    public var seq: Int
    public var kind: Kind

    public init(chatId: String, seq: Int, kind: Kind) {
        self.chatId = chatId
        self.seq = seq
        self.kind = kind
    }

    /// The `type` of the frame on the wire.
    public var type: String {
        switch kind {
        case .start: "chat_start"
        case .queued: "chat_queued"
        case .token: "chat_token"
        case .sources: "sources"
        case .complete: "chat_complete"
        case .error: "error"
        }
    }

    /// The frame serialized, as ``json(extra:)`` would serialize it.
    public func serialized(extra: [String: JSONValue] = [:]) -> String {
        serialized(sortedExtra: extra.sorted { $0.key < $1.key })
    }

    /// The frame serialized with `extra` fields given sorted by key (a stream sorts them once, not
    /// per frame). Tokens, the bulk of every stream, are written straight to bytes, merging the fixed
    /// keys with the extra ones in sorted order as JSONValue writes objects; other frames go through
    /// ``json(extra:)``.
    public func serialized(sortedExtra extra: [(key: String, value: JSONValue)]) -> String {
        guard case .token(let token) = kind else {
            return json(extra: Dictionary(extra, uniquingKeysWith: { _, last in last })).serializedString
        }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(token.utf8.count + chatId.utf8.count + 64)
        bytes.append(UInt8(ascii: "{"))
        var first = true
        func key(_ name: String) {
            if !first { bytes.append(UInt8(ascii: ",")) }
            first = false
            JSONValue.writeString(name, to: &bytes)
            bytes.append(UInt8(ascii: ":"))
        }
        var next = extra.startIndex
        for fixed in Self.tokenKeys {
            while next < extra.endIndex, extra[next].key < fixed {
                key(extra[next].key)
                extra[next].value.write(to: &bytes)
                next += 1
            }
            if next < extra.endIndex, extra[next].key == fixed { continue }  // an extra field replaces it
            key(fixed)
            switch fixed {
            case "chat_id": JSONValue.writeString(chatId, to: &bytes)
            case "seq": bytes.append(contentsOf: String(seq).utf8)
            case "token": JSONValue.writeString(token, to: &bytes)
            default: JSONValue.writeString(type, to: &bytes)
            }
        }
        for field in extra[next...] {
            key(field.key)
            field.value.write(to: &bytes)
        }
        bytes.append(UInt8(ascii: "}"))
        return String(decoding: bytes, as: UTF8.self)
    }

    /// The keys of a `chat_token` frame, sorted.
    private static let tokenKeys = ["chat_id", "seq", "token", "type"]

    /// The frame's JSON object, with any transport-specific `extra` fields (such as the room's `user`).
    public func json(extra: [String: JSONValue] = [:]) -> JSONValue {
        var fields: [String: JSONValue] = ["type": .string(type), "chat_id": .string(chatId), "seq": .number(Double(seq))]
        switch kind {
        case .start(let message):
            fields["message"] = .string(message)
        case .queued(let position):
            fields["position"] = .number(Double(position))
        case .token(let token):
            fields["token"] = .string(token)
        case .sources(let sources):
            fields["sources"] = .array(sources.map(\.json))
        case .complete(let completion):
            fields["db_id"] = .number(Double(completion.dbId))
            fields["response"] = .string(completion.response)
            fields["status"] = .string(completion.status.rawValue)
            fields["usage"] = ["prompt_tokens": .number(Double(completion.usage.promptTokens)),
                               "completion_tokens": .number(Double(completion.usage.completionTokens))]
            fields["metrics"] = ["ttft_ms": .number(completion.metrics.ttftMilliseconds.rounded3),
                                 "duration_ms": .number(completion.metrics.durationMilliseconds.rounded3),
                                 "tokens_per_s": .number(completion.metrics.tokensPerSecond.rounded3),
                                 "queue_ms": .number(completion.metrics.queueMilliseconds.rounded3)]
            if !completion.sources.isEmpty { fields["sources"] = .array(completion.sources.map(\.json)) }
        case .error(let error, let dbId):
            fields["code"] = .string(error.code.rawValue)
            fields["message"] = .string(error.message)
            fields["db_id"] = dbId.map { .number(Double($0)) } ?? .null
            if let retryAfter = error.retryAfterSeconds { fields["retry_after"] = .number(Double(retryAfter)) }
        }
        for (key, value) in extra { fields[key] = value }
        return .object(fields)
    }
}

/// The end of a generation as `chat_complete` reports it.
public struct ChatCompletion: Sendable, Equatable {
    public var dbId: Int64
    public var response: String
    public var status: Chat.Status
    public var usage: Usage
    public var metrics: StreamMetrics
    public var sources: [ChatSource]
    /// Why the generation failed, when it did (the frame sent was an `error`).
    public var failure: APIError?
}

/// Timing of one generation.
public struct StreamMetrics: Sendable, Equatable {
    public var ttftMilliseconds: Double
    public var durationMilliseconds: Double
    public var tokensPerSecond: Double
    /// Time spent waiting for a provider slot (and upstream-requested pauses); part of `ttft_ms`.
    public var queueMilliseconds: Double = 0

    public init(ttftMilliseconds: Double, durationMilliseconds: Double, tokensPerSecond: Double, queueMilliseconds: Double = 0) {
        self.ttftMilliseconds = ttftMilliseconds
        self.durationMilliseconds = durationMilliseconds
        self.tokensPerSecond = tokensPerSecond
        self.queueMilliseconds = queueMilliseconds
    }
}

extension ChatSource {
    var json: JSONValue {
        ["title": .string(title), "chunk": .string(chunk), "score": .number(score),
         "document_id": documentId.map { .number(Double($0)) } ?? .null]
    }
}

extension Double {
    var rounded3: Double { (self * 1000).rounded() / 1000 }
}
