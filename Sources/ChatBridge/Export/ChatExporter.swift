import Foundation

/// The file formats of an export.
public enum ExportFormat: String, Sendable, CaseIterable {
    case json, jsonl, csv, txt, pdf, md, alpaca

    public var fileExtension: String {
        switch self {
        case .alpaca: "json"
        default: rawValue
        }
    }

    public var contentType: String {
        switch self {
        case .json, .alpaca: "application/json; charset=utf-8"
        case .jsonl: "application/x-ndjson; charset=utf-8"
        case .csv: "text/csv; charset=utf-8; header=present"
        case .txt: "text/plain; charset=utf-8"
        case .md: "text/markdown; charset=utf-8"
        case .pdf: "application/pdf"
        }
    }

    /// `agenthost-chats-2026-11-25.csv` (`…-alpaca.json` for Alpaca, to tell it from a JSON export).
    public func fileName(date: Date) -> String {
        let day = String(Timestamp.string(from: date).prefix(10))
        return "agenthost-chats-\(day)\(self == .alpaca ? "-alpaca" : "").\(fileExtension)"
    }
}

/// What the title of a transcript or PDF says about the export.
public struct ExportMetadata: Sendable, Equatable {
    public var generatedAt: Date
    /// The filters as the caller gave them, e.g. `("workspace", "docs")`.
    public var filters: [(String, String)]
    /// How many chats the export holds.
    public var total: Int

    public init(generatedAt: Date, filters: [(String, String)], total: Int = 0) {
        self.generatedAt = generatedAt
        self.filters = filters
        self.total = total
    }

    public static func == (lhs: ExportMetadata, rhs: ExportMetadata) -> Bool {
        lhs.generatedAt == rhs.generatedAt && lhs.total == rhs.total
            && lhs.filters.map { [$0.0, $0.1] } == rhs.filters.map { [$0.0, $0.1] }
    }

    /// `workspace=docs, from=2026-01-01` or `none`.
    public var filterSummary: String {
        filters.isEmpty ? "none (every chat)" : filters.map { "\($0.0)=\($0.1)" }.joined(separator: ", ")
    }
}

/// Turns exported chats into the bytes of one format, one chat at a time.
public protocol ChatExportEncoder {
    mutating func begin(_ metadata: ExportMetadata, into output: inout [UInt8])
    mutating func write(_ record: ExportRecord, into output: inout [UInt8])
    mutating func end(into output: inout [UInt8])
}

/// Streams an export: reads chats in keyset chunks and hands bytes to `write` as they are made,
/// so memory stays flat whatever the number of chats. The HTTP route and the CLI both use it.
public struct ChatExporter: Sendable {
    public var source: any ChatExportSource
    public var chunkSize: Int
    /// Bytes gathered before they are handed on.
    public var flushSize: Int

    public init(source: any ChatExportSource, chunkSize: Int = 500, flushSize: Int = 64 * 1024) {
        self.source = source
        self.chunkSize = chunkSize
        self.flushSize = flushSize
    }

    public static func encoder(for format: ExportFormat) -> any ChatExportEncoder {
        switch format {
        case .json: JSONExportEncoder(lines: false)
        case .jsonl: JSONExportEncoder(lines: true)
        case .csv: CSVExportEncoder()
        case .txt: TranscriptExportEncoder(markdown: false)
        case .md: TranscriptExportEncoder(markdown: true)
        case .alpaca: AlpacaExportEncoder()
        case .pdf: PDFExportEncoder()
        }
    }

    /// Writes the whole export; counts the chats first unless `total` (from ``ChatExportSource/exportCount(_:viewer:)``)
    /// is given. `progress` gets (chats done, total) after each chunk. Returns the number of chats exported.
    @discardableResult
    public func export(
        format: ExportFormat, filter: ExportFilter, viewer: Viewer, metadata: ExportMetadata, total: Int? = nil,
        progress: (Int, Int) -> Void = { _, _ in }, write: ([UInt8]) async throws -> Void
    ) async throws -> Int {
        var metadata = metadata
        if let total {
            metadata.total = total
        } else {
            metadata.total = try await source.exportCount(filter, viewer: viewer)
        }
        var encoder = Self.encoder(for: format)
        var output: [UInt8] = []
        output.reserveCapacity(flushSize + 16 * 1024)
        encoder.begin(metadata, into: &output)
        var done = 0
        var after: ExportPosition?
        progress(0, metadata.total)
        while true {
            try Task.checkCancellation()
            let chunk = try await source.exportChunk(filter, viewer: viewer, after: after, limit: chunkSize)
            for record in chunk {
                encoder.write(record, into: &output)
                if output.count >= flushSize {
                    try await write(output)
                    output.removeAll(keepingCapacity: true)
                }
            }
            done += chunk.count
            progress(done, max(metadata.total, done))
            guard chunk.count == chunkSize, let last = chunk.last else { break }
            after = ExportPosition(last.chat)
        }
        encoder.end(into: &output)
        if !output.isEmpty { try await write(output) }
        return done
    }
}
