import ChatBridge
import Foundation

/// What one instance tells the others over the cluster bus (PROTOCOL §9), with its sender.
struct BusEnvelope: Codable, Sendable {
    /// The sending instance's id (``RunLeaseStore/instanceId``).
    var from: String
    var message: BusMessage
}

/// The messages of the cluster bus. Frames themselves never travel: runs' frames are in the run
/// log, and a notification says which runs have new ones.
enum BusMessage: Codable, Sendable {
    /// These runs have new frames in the log (or have ended).
    case runProgress(runIds: [String])
    /// A command for a run, addressed to the instance that executes it.
    case command(ForwardedCommand)
    /// The outcome of a ``ForwardedCommand``, addressed to the instance that sent it.
    case reply(CommandReply)
    /// A frame for the members of a `ws/chat` room (typing, feedback).
    case room(RoomBroadcast)
    /// A generation started in a `ws/chat` room: its members on every instance watch it.
    case generationStarted(runId: String, room: RoomKey)
    /// The sender released its leases (a clean shutdown): its waiting runs are free to take over now.
    case leasesReleased
}

/// A client's command for a run that another instance executes.
enum RunCommand: Codable, Sendable, Equatable {
    case toolResult(callId: String, output: JSONValue, isError: Bool)
    case approval(callId: String, approved: Bool, reason: String?)
    case cancel
}

struct ForwardedCommand: Codable, Sendable {
    var id: String
    /// The instance executing the run.
    var to: String
    var runId: String
    var command: RunCommand
}

struct CommandReply: Codable, Sendable {
    var id: String
    /// The instance that forwarded the command.
    var to: String
    /// Why the executing instance refused the command; `nil` when it applied it.
    var error: RefusedCommand?
}

/// An ``APIError`` as it crosses the bus (code and message: what the client is told).
struct RefusedCommand: Codable, Sendable {
    var code: APIError.Code
    var message: String

    init(_ error: APIError) {
        code = error.code
        message = error.message
    }

    var apiError: APIError { APIError(code, message) }
}

struct RoomBroadcast: Codable, Sendable {
    var room: RoomKey
    /// The frame, serialized.
    var frame: String
    /// The member (connection id) that sent it, who does not get it back.
    var excluding: String?
}

extension BusEnvelope {
    private static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes]
        return encoder
    }()

    func encoded() throws -> String {
        String(decoding: try Self.encoder.encode(self), as: UTF8.self)
    }

    init(decoding payload: String) throws {
        self = try JSONDecoder().decode(BusEnvelope.self, from: Data(payload.utf8))
    }
}
