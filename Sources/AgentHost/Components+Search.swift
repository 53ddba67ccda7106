import ChatBridge
import Hummingbird

extension Components {
    /// `GET /api/chats/search/` and `POST /api/chats/export/`.
    func addSearchAndExportRoutes(to chats: RouterGroup<AppRequestContext>) {
        let storage = dependencies.storage
        SearchController(chats: dependencies.chats, accounts: dependencies.accounts, search: storage.search).addRoutes(to: chats)
        ExportController(chats: dependencies.chats, accounts: dependencies.accounts, source: storage.export).addRoutes(to: chats)
    }
}
