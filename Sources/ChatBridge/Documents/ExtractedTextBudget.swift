/// How much text one upload may turn into, counted in UTF-8 bytes as the extractor produces it.
///
/// CSV and JSON extraction repeat names: every CSV field is written with its column header and
/// every JSON scalar with its whole key path, so a small file can ask for gigabytes (a 1 MB header
/// row over a few hundred rows; a 64 KiB key above 40,000 array items). Charging each line before
/// it is built lets the extractor refuse such a file with `too_large` after doing at most `limit`
/// bytes of work, instead of building the text and measuring it afterwards.
public struct ExtractedTextBudget: Sendable {
    /// The most bytes of text the upload may produce.
    public let limit: Int
    /// Bytes charged so far.
    public private(set) var used = 0
    let name: String
    let uploadBytes: Int
    let ratio: Int

    /// The budget of an upload of `uploadBytes` bytes: `ratio` times its size, at most `maxTextBytes`
    /// (and never below `floor`, so that a tiny file with long names still loads).
    public init(name: String, uploadBytes: Int, ratio: Int, maxTextBytes: Int, floor: Int = ExtractedTextBudget.floor) {
        self.name = name
        self.uploadBytes = uploadBytes
        self.ratio = ratio
        let (scaled, overflow) = uploadBytes.multipliedReportingOverflow(by: max(ratio, 1))
        limit = min(maxTextBytes, max(overflow ? Int.max : scaled, floor))
    }

    /// Tiny uploads may always produce this much text, whatever the ratio.
    public static let floor = 64 * 1024

    /// Charges `bytes` more bytes of text; throws `too_large` when that passes the limit, before
    /// the caller builds them.
    public mutating func charge(_ bytes: Int) throws {
        used += bytes
        guard used <= limit else {
            throw APIError(.tooLarge,
                "The text extracted from '\(name)' would be larger than \(limit) bytes (\(ratio) times the \(uploadBytes)-byte upload, "
                    + "capped at the server's limit): CSV headers and JSON key paths are repeated for every value. "
                    + "Split the file, or shorten its column names or keys.")
        }
    }

    /// Charges the bytes of `text`.
    public mutating func charge(_ text: String) throws {
        try charge(text.utf8.count)
    }
}
