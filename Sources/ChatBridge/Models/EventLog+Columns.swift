import Foundation
import GRDB

/// Explicit column mapping for `event_logs`, written for every answer: GRDB's `Codable` encoder
/// (a keyed container and a snake_case conversion per property) and its `DateFormatter` were most
/// of the event's insert. It writes exactly what the `Codable` mapping wrote: `metadata` as the JSON
/// of ``EncodableRecord/databaseJSONEncoder(for:)``, the date as GRDB's text (``StoredDate``).
extension EventLog {
    public func encode(to container: inout PersistenceContainer) throws {
        try encodeColumns(to: &container)
    }
}

extension EventLog: PreparedInsertRecord {
    static let insertedColumns = ["event", "workspace_id", "user_id", "chat_id", "metadata", "created_at"]
    static let insertSQL = makeInsertSQL(columns: insertedColumns)

    func insertedValues() throws -> [(any DatabaseValueConvertible)?] {
        [event, workspaceId, userId, chatId, Self.metadataJSON(metadata), StoredDate(createdAt)]
    }

    /// `metadata` as the text ``EncodableRecord/databaseJSONEncoder(for:)`` wrote for it, without
    /// starting Foundation's encoder for every answer: keys sorted as `String`s, `/` written `\/`,
    /// the short escapes for backspace, tab, newline, form feed and carriage return, `\u00xx` for the
    /// other control characters, everything else as it is.
    static func metadataJSON(_ metadata: [String: String]) -> String {
        var output: [UInt8] = [UInt8(ascii: "{")]
        for (index, key) in metadata.keys.sorted().enumerated() {
            if index > 0 { output.append(UInt8(ascii: ",")) }
            writeFoundationString(key, to: &output)
            output.append(UInt8(ascii: ":"))
            writeFoundationString(metadata[key]!, to: &output)
        }
        output.append(UInt8(ascii: "}"))
        return String(decoding: output, as: UTF8.self)
    }

    private static let hexDigits = Array("0123456789abcdef".utf8)

    private static func writeFoundationString(_ text: String, to output: inout [UInt8]) {
        output.append(UInt8(ascii: "\""))
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): output.append(contentsOf: [UInt8(ascii: "\\"), byte])
            case 0x08: output.append(contentsOf: Array(#"\b"#.utf8))
            case 0x09: output.append(contentsOf: Array(#"\t"#.utf8))
            case 0x0A: output.append(contentsOf: Array(#"\n"#.utf8))
            case 0x0C: output.append(contentsOf: Array(#"\f"#.utf8))
            case 0x0D: output.append(contentsOf: Array(#"\r"#.utf8))
            case ..<0x20: output.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0"), hexDigits[Int(byte >> 4)], hexDigits[Int(byte & 0xF)]])
            default: output.append(byte)
            }
        }
        output.append(UInt8(ascii: "\""))
    }
}
