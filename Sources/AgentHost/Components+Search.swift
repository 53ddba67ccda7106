import ChatBridge
import Hummingbird

extension Components {
    /// `GET /api/chats/search/` and `POST /api/chats/export/`.
    func addSearchAndExportRoutes(to chats: RouterGroup<AppRequestContext>) {
        // Search and export read through their own store over the same database (a store is only a handle).
        let store = SQLiteStore(writer: dependencies.database)
        SearchController(chats: dependencies.chats, accounts: dependencies.accounts, search: store).addRoutes(to: chats)
        ExportController(chats: dependencies.chats, accounts: dependencies.accounts, source: store).addRoutes(to: chats)
    }
}
