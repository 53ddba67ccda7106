import ChatBridge
import Foundation

/// `workspace_notes`: lets the agent save, list and delete notes that persist across conversations,
/// private to the calling user within the workspace.
public struct WorkspaceNotesTool: Tool {
    public static let toolName = "workspace_notes"

    public var name: String { Self.toolName }

    public init() {}

    /// Arguments `{"action": "save"|"list"|"delete", "title"?, "content"?, "note_id"?}`.
    /// `save` returns `{"note": note}`, `list` `{"notes": [note]}`, `delete` `{"deleted": true, "note_id"}`,
    /// where a note is `{"note_id", "title", "content", "created_at"}`.
    public func run(arguments: JSONValue, context: ToolContext) async throws -> JSONValue {
        switch arguments["action"]?.stringValue {
        case "save":
            guard let title = nonEmpty(arguments["title"]), let content = nonEmpty(arguments["content"]) else {
                throw ToolError("The 'save' action needs both a non-empty 'title' and a non-empty 'content'")
            }
            let note = try await context.notes.addNote(WorkspaceNote(
                workspaceId: context.workspaceId, userId: context.viewer.userId, title: title, content: content,
                createdAt: Self.millisecondPrecision(context.now())
            ))
            return ["note": Self.json(note)]

        case "list":
            let notes = try await context.notes.notes(workspaceId: context.workspaceId, viewer: context.viewer)
            return ["notes": .array(notes.map(Self.json))]

        case "delete":
            guard let id = arguments["note_id"]?.intValue else {
                throw ToolError("The 'delete' action needs an integer 'note_id' (use the 'list' action to find it)")
            }
            let deleted = try await context.notes.deleteNote(
                id: Int64(id), workspaceId: context.workspaceId, viewer: context.viewer
            )
            guard deleted else {
                throw ToolError("There is no note with note_id \(id) in this workspace (use the 'list' action to see your notes)")
            }
            return ["deleted": true, "note_id": .number(Double(id))]

        case let other:
            let got = other.map { JSONValue.string($0).serializedString } ?? "nothing"
            throw ToolError(#"'action' must be "save", "list" or "delete" (got \#(got))"#)
        }
    }

    static func json(_ note: WorkspaceNote) -> JSONValue {
        [
            "note_id": note.id.map { .number(Double($0)) } ?? .null,
            "title": .string(note.title),
            "content": .string(note.content),
            "created_at": .string(Timestamp.string(from: note.createdAt)),
        ]
    }

    /// SQLite keeps milliseconds; rounding first makes the returned note equal what a later `list` reads.
    private static func millisecondPrecision(_ date: Date) -> Date {
        Date(timeIntervalSince1970: (date.timeIntervalSince1970 * 1000).rounded() / 1000)
    }

    private func nonEmpty(_ value: JSONValue?) -> String? {
        guard let text = value?.stringValue, !text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else { return nil }
        return text
    }
}
