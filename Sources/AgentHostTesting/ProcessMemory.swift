import Foundation

/// The process's resident memory, from `/proc/self/status` (Linux); `nil` elsewhere.
public enum ProcessMemory {
    /// Current resident set size in bytes (`VmRSS`).
    public static var resident: Int? { field("VmRSS") }
    /// Peak resident set size in bytes since start or the last ``resetPeak()`` (`VmHWM`).
    public static var peak: Int? { field("VmHWM") }

    /// Resets `VmHWM` to the current RSS (`echo 5 > /proc/self/clear_refs`); returns whether the kernel allowed it.
    @discardableResult
    public static func resetPeak() -> Bool {
        guard let handle = FileHandle(forWritingAtPath: "/proc/self/clear_refs") else { return false }
        defer { try? handle.close() }
        do {
            try handle.write(contentsOf: Data("5".utf8))
            return true
        } catch {
            return false
        }
    }

    private static func field(_ name: String) -> Int? {
        guard let text = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix(name + ":") {
            // "VmRSS:	  123456 kB"
            let parts = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            guard parts.count >= 2, let kilobytes = Int(parts[1]) else { return nil }
            return kilobytes * 1024
        }
        return nil
    }

    /// `123.4 MiB`, or `n/a`.
    public static func format(_ bytes: Int?) -> String {
        guard let bytes else { return "n/a" }
        return String(format: "%.1f MiB", Double(bytes) / 1_048_576)
    }

    /// `+12.3 MiB`, or `n/a`.
    public static func formatDelta(from start: Int?, to end: Int?) -> String {
        guard let start, let end else { return "n/a" }
        return String(format: "%+.1f MiB", Double(end - start) / 1_048_576)
    }
}
