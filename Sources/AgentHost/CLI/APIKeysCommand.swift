import ArgumentParser
import ChatBridge
import Foundation

/// `agenthost api-keys`: bearer keys for programs.
struct APIKeysCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "api-keys", abstract: "Manage API keys.",
        subcommands: [Create.self, List.self, Revoke.self]
    )

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create a key; prints the secret as the last line (shown once).")
        @OptionGroup var storage: StorageOptions
        @OptionGroup var database: DatabaseOptions
        @Option(help: "A name to recognise the key by.") var name: String
        @Option(help: "The user the key acts as; omit for an administrator key.") var user: String?

        func run() async throws {
            let secret = APIKeySecret.generate()
            let (name, user) = (name, user)
            let (key, owner) = try await database.withAccounts(storage: storage) { store -> (APIKey, User?) in
                var owner: User?
                if let user { owner = try await UsersCommand.find(user, in: store) }
                let key = try await store.createAPIKey(APIKey(
                    name: name, prefix: APIKeySecret.displayPrefix(secret), secretHash: APIKeySecret.hash(secret), userId: owner?.id))
                return (key, owner)
            }
            print("Created API key \(key.id!) '\(key.name)' acting as \(owner.map { "user '\($0.username)'" } ?? "administrator"). Store it now; it is not shown again:")
            print(secret)
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List keys (never their secrets).")
        @OptionGroup var storage: StorageOptions
        @OptionGroup var database: DatabaseOptions

        func run() async throws {
            let (users, keys) = try await database.withAccounts(storage: storage) { store in
                (Dictionary(uniqueKeysWithValues: try await store.users().map { ($0.id!, $0.username) }), try await store.apiKeys())
            }
            for key in keys {
                let owner = key.userId.flatMap { users[$0] } ?? "admin"
                let state = key.revokedAt.map { "revoked \(Timestamp.string(from: $0))" } ?? "active"
                print("\(key.id!)\t\(key.name)\t\(key.prefix)…\t\(owner)\t\(state)")
            }
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Revoke a key by id.")
        @OptionGroup var storage: StorageOptions
        @OptionGroup var database: DatabaseOptions
        @Argument(help: "Key id (see list).") var id: Int64

        func run() async throws {
            let id = id
            guard try await database.withAccounts(storage: storage, { store in try await store.revokeAPIKey(id: id, now: Date()) }) else {
                throw ValidationError("No active API key with id \(id).")
            }
            print("Revoked API key \(id).")
        }
    }
}
