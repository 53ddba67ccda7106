import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Whether a host name or address only reaches this machine, parsed as an IP address rather than
/// compared by prefix (`127.evil.com` is a DNS name anyone can point anywhere).
enum LoopbackAddress {
    /// True for `localhost`, any IPv4 address in 127.0.0.0/8, `::1` and IPv4-mapped 127.x addresses
    /// (IPv6 may be written in brackets).
    static func contains(_ host: String) -> Bool {
        var host = host.lowercased()
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        if host == "localhost" || host == "localhost." { return true }
        var v4 = in_addr()
        if inet_pton(AF_INET, host, &v4) == 1 {
            return withUnsafeBytes(of: &v4) { $0[0] } == 127
        }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, host, &v6) == 1 {
            let bytes = withUnsafeBytes(of: &v6) { Array($0) }
            if bytes[0..<15].allSatisfy({ $0 == 0 }) && bytes[15] == 1 { return true }
            let mapped = bytes[0..<10].allSatisfy { $0 == 0 } && bytes[10] == 0xFF && bytes[11] == 0xFF
            return mapped && bytes[12] == 127
        }
        return false
    }

    /// Whether the host of `url` (a provider's base URL) only reaches this machine.
    static func contains(hostOf url: String) -> Bool {
        URL(string: url)?.host.map { contains($0) } ?? false
    }
}
