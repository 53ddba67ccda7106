import AgentHost
import AgentHostTesting
import ArgumentParser
import ChatBridge
import Foundation

extension BenchCommand {
    /// `agenthost-bench export`: export throughput and memory per format over a seeded database.
    struct Export: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "export", abstract: "Export throughput (MB/s) and RSS growth per format; run `agenthost-bench seed` first.")

        @OptionGroup var storage: StorageOptions
        @Option(help: "Comma-separated formats.") var formats = ExportFormat.allCases.map(\.rawValue).joined(separator: ",")

        func run() async throws {
            let store = try storage.openStore()
            let exporter = ChatExporter(source: store)
            var table = BenchTable("Export of every chat, per format (RSS: the whole process; peak: VmHWM, reset before each format)",
                                   header: ["format", "chats", "MB", "seconds", "MB/s", "CPU s", "MB/CPU s", "RSS before", "peak RSS", "growth"])
            for name in formats.split(separator: ",") {
                guard let format = ExportFormat(rawValue: String(name)) else { throw ValidationError("Unknown format '\(name)'.") }
                ProcessMemory.resetPeak()
                let before = ProcessMemory.resident
                var bytes = 0
                let start = ContinuousClock.now
                // CPU time too: wall-clock MB/s on this shared machine swings 2x with the load; MB per CPU
                // second (the whole process: the reads and the encoding) moves far less.
                let cpuStart = ProcessCPU.seconds
                let count = try await exporter.export(
                    format: format, filter: ExportFilter(), viewer: .singleUser, metadata: ExportMetadata(generatedAt: Date(), filters: [])
                ) { chunk in bytes += chunk.count }
                let seconds = start.duration(to: .now).seconds
                let cpu = ProcessCPU.seconds - cpuStart
                let peak = ProcessMemory.peak
                let megabytes = Double(bytes) / 1e6
                table.add([format.rawValue, BenchFormat.number(Double(count)), BenchFormat.number(megabytes),
                           BenchFormat.number(seconds, decimals: 1), BenchFormat.number(megabytes / seconds, decimals: 1),
                           BenchFormat.number(cpu, decimals: 1), BenchFormat.number(megabytes / cpu, decimals: 1),
                           ProcessMemory.format(before), ProcessMemory.format(peak), ProcessMemory.formatDelta(from: before, to: peak)])
            }
            table.print()
        }
    }
}
