import ArgumentParser
import ChatBridge
import Foundation

extension BenchCommand {
    /// `agenthost bench export`: export throughput and memory per format over a seeded database.
    struct Export: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "export", abstract: "Export throughput (MB/s) and RSS growth per format; run `bench seed` first.")

        @OptionGroup var storage: StorageOptions
        @Option(help: "Comma-separated formats.") var formats = ExportFormat.allCases.map(\.rawValue).joined(separator: ",")

        func run() async throws {
            let store = try storage.openStore()
            let exporter = ChatExporter(source: store)
            print("format     chats      MB   seconds    MB/s   RSS before   peak RSS   growth")
            for name in formats.split(separator: ",") {
                guard let format = ExportFormat(rawValue: String(name)) else { throw ValidationError("Unknown format '\(name)'.") }
                let before = BenchStats.residentBytes()
                var peak = before
                var bytes = 0
                let start = ContinuousClock.now
                let count = try await exporter.export(
                    format: format, filter: ExportFilter(), viewer: .singleUser, metadata: ExportMetadata(generatedAt: Date(), filters: []),
                    progress: { _, _ in peak = max(peak, BenchStats.residentBytes()) }
                ) { chunk in bytes += chunk.count }
                let seconds = BenchStats.milliseconds(start.duration(to: .now)) / 1000
                peak = max(peak, BenchStats.residentBytes())
                let megabytes = Double(bytes) / 1e6
                print(format.rawValue.padding(toLength: 8, withPad: " ", startingAt: 0) + String(count).leftPad(8)
                      + BenchStats.format(megabytes, 0).leftPad(8) + BenchStats.format(seconds, 1).leftPad(10)
                      + BenchStats.format(megabytes / seconds, 1).leftPad(8) + "\(before / 1_000_000) MB".leftPad(13)
                      + "\(peak / 1_000_000) MB".leftPad(11) + "\((peak - before) / 1_000_000) MB".leftPad(9))
            }
        }
    }
}
