import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Reads a child process's pipe on a thread of its own until end of file.
///
/// Not `FileHandle.readabilityHandler`: on Linux its dispatch source crashed the whole process (a
/// bad pointer dereference in libdispatch's event loop) when an MCP server died while its handler
/// was being removed. A blocking `read` loop per pipe has no such state; the child closing its end
/// (it exits, or is killed when stopped) ends the loop. The thread keeps the handle, and so the
/// descriptor, open until then.
enum PipeReader {
    static func start(_ handle: FileHandle, name: String, onData: @escaping @Sendable (Data) -> Void,
                      onEnd: @escaping @Sendable () -> Void) {
        let thread = Thread {
            let descriptor = handle.fileDescriptor
            var buffer = [UInt8](repeating: 0, count: 64 * 1024)
            while true {
                let count = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
                if count > 0 {
                    onData(Data(buffer[0..<count]))
                } else if count < 0, errno == EINTR {
                    continue
                } else {
                    break
                }
            }
            onEnd()
        }
        thread.name = name
        thread.start()
    }
}
