import Foundation
import GRDB

/// Notes agents keep per workspace and user.
public protocol NoteStore: Sendable {
    func addNote(_ note: WorkspaceNote) async throws -> WorkspaceNote
    /// The viewer's notes of a workspace, oldest first.
    func notes(workspaceId: Int64, viewer: Viewer) async throws -> [WorkspaceNote]
    /// Deletes one of the viewer's notes; false when there is no such note.
    func deleteNote(id: Int64, workspaceId: Int64, viewer: Viewer) async throws -> Bool
}

extension SQLiteStore: NoteStore {
    public func addNote(_ note: WorkspaceNote) async throws -> WorkspaceNote {
        try await writer.write { db in
            var note = note
            try note.insert(db)
            return note
        }
    }

    public func notes(workspaceId: Int64, viewer: Viewer) async throws -> [WorkspaceNote] {
        try await writer.read { db in
            try WorkspaceNote
                .filter(Column("workspace_id") == workspaceId && Column("user_id") == viewer.userId)
                .order(Column("id"))
                .fetchAll(db)
        }
    }

    public func deleteNote(id: Int64, workspaceId: Int64, viewer: Viewer) async throws -> Bool {
        try await writer.write { db in
            try WorkspaceNote
                .filter(key: id)
                .filter(Column("workspace_id") == workspaceId && Column("user_id") == viewer.userId)
                .deleteAll(db) > 0
        }
    }
}
