/// One event of a `text/event-stream`.
public struct SSEEvent: Sendable, Equatable {
    /// The `event:` field; `"message"` when the event named none.
    public var event: String
    public var data: String
    /// The last `id:` seen so far in the stream (it persists across events, per the spec).
    public var id: String?

    public init(event: String = "message", data: String, id: String? = nil) {
        self.event = event
        self.data = data
        self.id = id
    }
}

/// An incremental parser of the HTML Living Standard's event-stream format.
///
/// Feed it bytes exactly as they arrive (any split, even inside a line or a CRLF pair); it returns
/// the events completed so far. Handles LF, CR and CRLF line ends, comments, multi-line `data`,
/// `event`, `id` (ignored when it contains NUL), `retry`, a leading BOM, and fields without a colon.
public struct SSEParser: Sendable {
    private var line: [UInt8] = []
    private var data: [UInt8] = []
    private var hasData = false
    private var eventType: String?
    private var lastEventId: String?
    private var previousWasCR = false
    private var atStreamStart = true

    /// The reconnection time the server asked for with `retry:`, in milliseconds.
    public private(set) var retryMilliseconds: Int?

    public init() {}

    /// Consumes `bytes` and returns every event they complete.
    public mutating func parse(_ bytes: some Sequence<UInt8>) -> [SSEEvent] {
        if let events = bytes.withContiguousStorageIfAvailable({ parse(contiguous: $0) }) { return events }
        var events: [SSEEvent] = []
        for byte in bytes {
            switch byte {
            case 0x0A:
                if previousWasCR {
                    previousWasCR = false
                    continue
                }
                endLine(into: &events)
            case 0x0D:
                previousWasCR = true
                endLine(into: &events)
            default:
                previousWasCR = false
                line.append(byte)
            }
        }
        return events
    }

    /// ``parse(_:)`` over contiguous bytes (a received `ByteBuffer`): the bytes between line ends
    /// are appended to the line in one copy instead of one append per byte, as every relayed token
    /// goes through here.
    private mutating func parse(contiguous bytes: UnsafeBufferPointer<UInt8>) -> [SSEEvent] {
        var events: [SSEEvent] = []
        var index = 0
        while index < bytes.count {
            switch bytes[index] {
            case 0x0A:
                if previousWasCR {
                    previousWasCR = false
                } else {
                    endLine(into: &events)
                }
                index += 1
            case 0x0D:
                previousWasCR = true
                endLine(into: &events)
                index += 1
            default:
                previousWasCR = false
                var end = index + 1
                while end < bytes.count, bytes[end] != 0x0A, bytes[end] != 0x0D { end += 1 }
                line.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[index..<end]))
                index = end
            }
        }
        return events
    }

    /// Ends the stream: an event not terminated by a blank line is discarded, as the spec says.
    public mutating func finish() {
        line.removeAll()
        data.removeAll()
        hasData = false
        eventType = nil
    }

    private mutating func endLine(into events: inout [SSEEvent]) {
        defer { line.removeAll(keepingCapacity: true) }
        if atStreamStart {
            // Only the very first line may carry a UTF-8 byte order mark.
            atStreamStart = false
            if line.starts(with: [0xEF, 0xBB, 0xBF]) { line.removeFirst(3) }
        }
        if line.isEmpty {
            dispatch(into: &events)
            return
        }
        if line[0] == UInt8(ascii: ":") { return }  // comment
        let field: ArraySlice<UInt8>
        var value: ArraySlice<UInt8>
        if let colon = line.firstIndex(of: UInt8(ascii: ":")) {
            field = line[..<colon]
            value = line[(colon + 1)...]
            if value.first == UInt8(ascii: " ") { value = value.dropFirst() }
        } else {
            field = line[...]
            value = []
        }
        switch String(decoding: field, as: UTF8.self) {
        case "data":
            if hasData { data.append(0x0A) }
            data.append(contentsOf: value)
            hasData = true
        case "event":
            eventType = String(decoding: value, as: UTF8.self)
        case "id":
            if !value.contains(0) { lastEventId = String(decoding: value, as: UTF8.self) }
        case "retry":
            if !value.isEmpty, value.allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }) {
                retryMilliseconds = Int(String(decoding: value, as: UTF8.self))
            }
        default:
            break
        }
    }

    private mutating func dispatch(into events: inout [SSEEvent]) {
        defer {
            data.removeAll(keepingCapacity: true)
            hasData = false
            eventType = nil
        }
        guard hasData else { return }
        let type = eventType.flatMap { $0.isEmpty ? nil : $0 } ?? "message"
        events.append(SSEEvent(event: type, data: String(decoding: data, as: UTF8.self), id: lastEventId))
    }
}
