import ChatBridge
import Foundation
import Logging

#if canImport(Glibc)
import Glibc
#endif

/// A private PostgreSQL cluster for tests and benchmarks: `initdb` into a temporary directory,
/// `pg_ctl start` on a free loopback port, `pg_ctl stop` and removal at the end. Independent of
/// any system cluster. As root, its programs run as the `postgres` user (PostgreSQL refuses root).
public final class PostgresTestCluster: Sendable {
    public let port: Int
    public let directory: URL
    let binaries: URL
    let asPostgresUser: Bool

    /// Where Debian's `postgresql` package puts its programs.
    public static let defaultBinaries = URL(fileURLWithPath: "/usr/lib/postgresql/15/bin", isDirectory: true)

    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    /// Creates and starts a cluster; throws a clear error when PostgreSQL is not installed.
    public static func start(binaries: URL? = nil) async throws -> PostgresTestCluster {
        let binaries = binaries ?? ProcessInfo.processInfo.environment["AGENTHOST_TEST_PG_BIN"].map { URL(fileURLWithPath: $0) }
            ?? defaultBinaries
        for tool in ["initdb", "pg_ctl", "postgres"] where !FileManager.default.isExecutableFile(atPath: binaries.appendingPathComponent(tool).path) {
            throw Failure(description: """
                PostgreSQL is not installed: \(binaries.appendingPathComponent(tool).path) is missing. The PostgreSQL tests \
                need it; install it with `apt-get install -y postgresql` (scripts/test.sh does), or set AGENTHOST_TEST_PG_BIN.
                """)
        }
        let asPostgresUser = geteuid() == 0
        let directory = URL(fileURLWithPath: "/tmp", isDirectory: true)
            .appendingPathComponent("agenthost-pg-\(UUID().uuidString.prefix(8))", isDirectory: true)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        if asPostgresUser { try run("/bin/chown", ["postgres:postgres", directory.path]) }
        let cluster = PostgresTestCluster(port: try LoopbackPort.free(), directory: directory, binaries: binaries, asPostgresUser: asPostgresUser)
        do {
            try cluster.tool("initdb", ["-D", cluster.dataDirectory.path, "-U", "postgres", "--auth=trust", "-E", "UTF8",
                                        "--locale=C", "--no-sync"])
            // fsync off: a test cluster's data need not survive a power cut, and syncs dominate its time.
            try cluster.tool("pg_ctl", ["-D", cluster.dataDirectory.path, "-l", directory.appendingPathComponent("server.log").path,
                                        "-o", "-p \(cluster.port) -k \(directory.path) -c listen_addresses=127.0.0.1 -c fsync=off "
                                            + "-c synchronous_commit=off -c full_page_writes=off -c max_connections=300",
                                        "-w", "-t", "30", "start"])
        } catch {
            cluster.stop()
            throw error
        }
        return cluster
    }

    private init(port: Int, directory: URL, binaries: URL, asPostgresUser: Bool) {
        self.port = port
        self.directory = directory
        self.binaries = binaries
        self.asPostgresUser = asPostgresUser
    }

    var dataDirectory: URL { directory.appendingPathComponent("data", isDirectory: true) }

    /// The URL of `database` in this cluster.
    public func url(database: String = "postgres") -> String {
        "postgres://postgres@127.0.0.1:\(port)/\(database)?sslmode=disable"
    }

    /// Creates an empty database with a unique name and returns its URL.
    public func createDatabase(logger: Logger = Logger(label: "postgres-test")) async throws -> String {
        let name = "test_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").prefix(16).lowercased()
        try await PostgresDatabase.withRunning(url: url(), maximumConnections: 1, logger: logger) { database in
            try await database.createDatabase(named: name)
        }
        return url(database: name)
    }

    /// Stops the server and removes its files.
    public func stop() {
        if FileManager.default.fileExists(atPath: dataDirectory.appendingPathComponent("postmaster.pid").path) {
            try? tool("pg_ctl", ["-D", dataDirectory.path, "-m", "immediate", "-w", "stop"])
        }
        try? FileManager.default.removeItem(at: directory)
    }

    private func tool(_ name: String, _ arguments: [String]) throws {
        let path = binaries.appendingPathComponent(name).path
        if asPostgresUser {
            try Self.run("/usr/sbin/runuser", ["-u", "postgres", "--", path] + arguments)
        } else {
            try Self.run(path, arguments)
        }
    }

    /// Runs a program to its end with its output in a file. Spawned and reaped directly rather than
    /// through Foundation's `Process`, whose exit monitoring never fires for `pg_ctl start`: the server
    /// it leaves running inherits the descriptor that monitoring waits on.
    private static func run(_ executable: String, _ arguments: [String]) throws {
        let outputPath = "/tmp/agenthost-pg-tool-\(UUID().uuidString.prefix(8)).log"
        defer { unlink(outputPath) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, outputPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        let argv: [UnsafeMutablePointer<CChar>?] = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, executable, &actions, nil, argv, environ)
        guard spawned == 0 else { throw Failure(description: "could not start \(executable): error \(spawned)") }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        // WIFEXITED && WEXITSTATUS == 0, spelled out (the macros are not imported).
        guard status & 0x7f == 0, (status >> 8) & 0xff == 0 else {
            let text = (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? ""
            throw Failure(description: "\(executable) \(arguments.joined(separator: " ")) failed (status \(status)): \(text)")
        }
    }
}
