import ChatBridge
import Foundation

/// `current_time`: the current date and time in a time zone, so the model need not guess it.
public struct CurrentTimeTool: Tool {
    public static let toolName = "current_time"

    public var name: String { Self.toolName }

    public init() {}

    /// Arguments `{"time_zone"?: IANA name}` (default `UTC`); result `{"time_zone", "iso8601",
    /// "unix", "weekday", "utc_offset"}`, with the time taken from ``ToolContext/now``.
    public func run(arguments: JSONValue, context: ToolContext) async throws -> JSONValue {
        let requested = arguments["time_zone"]?.stringValue ?? "UTC"
        guard let (zone, zoneName) = Self.timeZone(named: requested) else {
            throw ToolError(
                "Unknown time zone \(JSONValue.string(requested).serializedString). Use an IANA time zone name "
                    + #"such as "Europe/Paris", "America/New_York", "Asia/Tokyo" or "UTC"."#
            )
        }
        let now = context.now()
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = zone
        let parts = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second, .weekday], from: now)
        let offset = Self.offsetString(seconds: zone.secondsFromGMT(for: now))
        let iso8601 = pad(parts.year ?? 0, 4) + "-" + pad(parts.month ?? 0) + "-" + pad(parts.day ?? 0)
            + "T" + pad(parts.hour ?? 0) + ":" + pad(parts.minute ?? 0) + ":" + pad(parts.second ?? 0) + offset
        // Calendar weekdays run 1 (Sunday) … 7 (Saturday); names are fixed English, not localised,
        // so the output does not depend on the server's locale.
        let weekdays = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"]
        let weekday = parts.weekday.flatMap { weekdays.indices.contains($0 - 1) ? weekdays[$0 - 1] : nil } ?? ""
        return [
            "time_zone": .string(zoneName),
            "iso8601": .string(iso8601),
            "unix": .number(now.timeIntervalSince1970.rounded(.down)),
            "weekday": .string(weekday),
            "utc_offset": .string(offset),
        ]
    }

    /// The zone for an IANA name and the name to report, also matching a differently-cased name
    /// (`europe/paris`) since models are not always careful about case.
    static func timeZone(named name: String) -> (TimeZone, String)? {
        let trimmed = name.trimmingCharacters(in: .whitespaces)
        guard !trimmed.isEmpty else { return nil }
        // Foundation on Linux reports UTC as "GMT"; answer with the name the model asked for.
        if ["UTC", "Z", "ETC/UTC"].contains(trimmed.uppercased()) {
            return TimeZone(secondsFromGMT: 0).map { ($0, "UTC") }
        }
        if let zone = TimeZone(identifier: trimmed) { return (zone, zone.identifier) }
        let lowered = trimmed.lowercased()
        guard let identifier = TimeZone.knownTimeZoneIdentifiers.first(where: { $0.lowercased() == lowered }),
              let zone = TimeZone(identifier: identifier)
        else { return nil }
        return (zone, zone.identifier)
    }

    /// `+01:00`, `-03:30`, `+00:00`.
    static func offsetString(seconds: Int) -> String {
        let sign = seconds < 0 ? "-" : "+"
        let minutes = abs(seconds) / 60
        return sign + pad(minutes / 60) + ":" + pad(minutes % 60)
    }
}

private func pad(_ value: Int, _ width: Int = 2) -> String {
    let digits = String(abs(value))
    return (value < 0 ? "-" : "") + String(repeating: "0", count: max(0, width - digits.count)) + digits
}
