import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Free TCP ports on 127.0.0.1, for child processes (servers, PostgreSQL clusters) that must be
/// told their port before they start.
public enum LoopbackPort {
    public struct Unavailable: Error, CustomStringConvertible {
        public var description: String
    }

    /// A port nobody listens on now (bound to port 0, then released).
    public static func free() throws -> Int {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { throw Unavailable(description: "socket() failed") }
        defer { close(descriptor) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, length) == 0 && getsockname(descriptor, $0, &length) == 0 }
        }
        guard bound else { throw Unavailable(description: "no free port on 127.0.0.1 (bind failed)") }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}
