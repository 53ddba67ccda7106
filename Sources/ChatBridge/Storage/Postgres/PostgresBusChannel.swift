import Foundation
import Logging
import PostgresNIO

/// The bus between instances over PostgreSQL's LISTEN/NOTIFY (PROTOCOL §9).
///
/// NOTIFY payloads must stay under 8000 bytes: a bigger one (a long tool output, a room frame with a
/// long text) is stored in `bus_messages` and the notification carries its row id. Listening holds
/// one pooled connection for as long as ``listen(connected:receive:)`` runs, and reconnects with
/// back-off when it breaks.
public struct PostgresBusChannel: BusChannel {
    /// The one channel every instance listens on.
    public static let channelName = "agenthost_bus"
    /// Payloads up to this many UTF-8 bytes go inline; PostgreSQL refuses 8000 and more.
    static let inlineLimit = 7_900
    /// How long a stored payload is kept for listeners to read.
    static let storedPayloadLifetime: TimeInterval = 3600

    let database: PostgresDatabase
    let logger: Logger

    public init(database: PostgresDatabase, logger: Logger) {
        self.database = database
        self.logger = logger
    }

    public func send(_ payload: String) async throws {
        if payload.utf8.count <= Self.inlineLimit, !payload.hasPrefix("@") {
            try await database.execute("SELECT pg_notify(?, ?)", [Self.channelName, payload])
            return
        }
        try await database.transaction { db in
            guard let id = try await db.scalar(Int64.self, "INSERT INTO bus_messages (body) VALUES (?) RETURNING id", [payload]) else {
                throw PostgresStorageError("storing a bus message returned no id")
            }
            // Sent when the row commits, so a listener always finds it.
            try await db.execute("SELECT pg_notify(?, ?)", [Self.channelName, "@\(id)"])
        }
    }

    public func listen(connected: @escaping @Sendable () async -> Void, receive: @escaping @Sendable (String) async -> Void) async {
        var backoff = Duration.milliseconds(100)
        while !Task.isCancelled {
            do {
                try await database.client.withConnection { connection in
                    try await connection.listen(on: Self.channelName) { notifications in
                        backoff = .milliseconds(100)
                        await connected()
                        for try await notification in notifications {
                            guard let payload = try await resolve(notification.payload) else { continue }
                            await receive(payload)
                        }
                    }
                }
            } catch {
                if Task.isCancelled { return }
                logger.warning("the cluster bus lost its PostgreSQL connection; reconnecting", metadata: [
                    "error": "\(error)", "retry_in": "\(backoff)"])
            }
            try? await Task.sleep(for: backoff)
            backoff = min(backoff * 2, .seconds(5))
        }
    }

    /// The payload a notification stands for: itself, or the stored body it names.
    private func resolve(_ payload: String) async throws -> String? {
        guard payload.hasPrefix("@"), let id = Int64(payload.dropFirst()) else { return payload }
        let body = try await database.scalar(String.self, "SELECT body FROM bus_messages WHERE id = ?", [id])
        if body == nil { logger.warning("a stored bus message is gone", metadata: ["id": "\(id)"]) }
        return body
    }

    /// Deletes stored payloads every listener has had time to read.
    public func deleteOldPayloads() async throws {
        try await database.execute("DELETE FROM bus_messages WHERE created_at < now() - make_interval(secs => ?)",
                                   [Self.storedPayloadLifetime])
    }
}
