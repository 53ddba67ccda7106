/// Compact JSON written straight into bytes, with ``JSONValue``'s escaping and number format, for
/// bodies built from typed values on a hot path (no intermediate `JSONValue` tree). The caller
/// writes an object's fields in the order they must appear: `JSONValue.serialized()` sorts keys, so
/// a body meant to match it lists them sorted.
struct JSONBytesWriter {
    private(set) var bytes: [UInt8] = []
    /// Whether the object or array being written has no member yet (no comma before the next).
    private var atFirstMember = true

    init(capacity: Int) {
        bytes.reserveCapacity(capacity)
    }

    mutating func string(_ value: String) {
        JSONValue.writeString(value, to: &bytes)
    }

    mutating func number(_ value: Double) {
        JSONValue.writeNumber(value, to: &bytes)
    }

    /// Any JSON value, keys sorted.
    mutating func json(_ value: JSONValue) {
        value.write(to: &bytes)
    }

    /// JSON text written as it is (`true`, a fixed object).
    mutating func literal(_ text: StaticString) {
        text.withUTF8Buffer { bytes.append(contentsOf: $0) }
    }

    /// An object whose fields `body` writes with ``field(_:_:)``.
    mutating func object(_ body: (inout JSONBytesWriter) -> Void) {
        container(open: UInt8(ascii: "{"), close: UInt8(ascii: "}"), body)
    }

    /// One field of the object being written; `key` must need no escaping.
    mutating func field(_ key: StaticString, _ value: (inout JSONBytesWriter) -> Void) {
        separate()
        bytes.append(UInt8(ascii: "\""))
        key.withUTF8Buffer { bytes.append(contentsOf: $0) }
        bytes.append(contentsOf: [UInt8(ascii: "\""), UInt8(ascii: ":")])
        value(&self)
    }

    /// An array with one element per item.
    mutating func array<Items: Sequence>(_ items: Items, _ element: (inout JSONBytesWriter, Items.Element) -> Void) {
        arrayElements { array in
            for item in items { array.element { element(&$0, item) } }
        }
    }

    /// An array whose elements `body` writes with ``element(_:)``.
    mutating func arrayElements(_ body: (inout JSONBytesWriter) -> Void) {
        container(open: UInt8(ascii: "["), close: UInt8(ascii: "]"), body)
    }

    /// One element of the array being written.
    mutating func element(_ value: (inout JSONBytesWriter) -> Void) {
        separate()
        value(&self)
    }

    /// An object or array: its own members start without a comma, and the enclosing one's state
    /// is restored after it.
    private mutating func container(open: UInt8, close: UInt8, _ body: (inout JSONBytesWriter) -> Void) {
        bytes.append(open)
        let outer = atFirstMember
        atFirstMember = true
        body(&self)
        atFirstMember = outer
        bytes.append(close)
    }

    private mutating func separate() {
        if !atFirstMember { bytes.append(UInt8(ascii: ",")) }
        atFirstMember = false
    }
}
