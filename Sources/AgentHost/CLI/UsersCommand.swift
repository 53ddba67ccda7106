import ArgumentParser
import ChatBridge
import Foundation

/// `agenthost users`: accounts of multi-user mode. The first user switches the server to multi-user mode.
struct UsersCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "users", abstract: "Manage users.",
        subcommands: [Add.self, List.self, SetLimit.self, Suspend.self]
    )

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create a user.")
        @OptionGroup var storage: StorageOptions
        @OptionGroup var database: DatabaseOptions
        @Argument(help: "Username (letters, digits, '.', '_', '-').") var name: String
        @Option(help: "Password, at least 8 characters.") var password: String
        @Option(help: "admin or default.") var role: String = "default"
        @Option(name: .customLong("daily-limit"), help: "Chats per UTC day; omit for unlimited.") var dailyLimit: Int?

        func validate() throws {
            guard name.range(of: #"^[A-Za-z0-9._-]{1,64}$"#, options: .regularExpression) != nil else {
                throw ValidationError("A username is 1 to 64 letters, digits, '.', '_' or '-'.")
            }
            guard password.count >= 8 else { throw ValidationError("The password must be at least 8 characters.") }
            guard User.Role(rawValue: role) != nil else { throw ValidationError("The role must be admin or default.") }
            if let dailyLimit, dailyLimit < 0 { throw ValidationError("The daily limit cannot be negative.") }
        }

        func run() async throws {
            let new = User(username: name, passwordHash: try PasswordHasher.standard.hash(password),
                           role: User.Role(rawValue: role)!, dailyMessageLimit: dailyLimit)
            let user = try await database.withAccounts(storage: storage) { store in try await store.createUser(new) }
            print("Created \(user.role.rawValue) user '\(user.username)' (id \(user.id!)).")
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List users.")
        @OptionGroup var storage: StorageOptions
        @OptionGroup var database: DatabaseOptions

        func run() async throws {
            let users = try await database.withAccounts(storage: storage) { store in try await store.users() }
            if users.isEmpty { print("No users: the server runs in single-user mode.") }
            for user in users {
                let limit = user.dailyMessageLimit.map(String.init) ?? "unlimited"
                print("\(user.id!)\t\(user.username)\t\(user.role.rawValue)\tdaily-limit=\(limit)\(user.suspended ? "\tSUSPENDED" : "")")
            }
        }
    }

    struct SetLimit: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "set-limit", abstract: "Set a user's daily chat limit.")
        @OptionGroup var storage: StorageOptions
        @OptionGroup var database: DatabaseOptions
        @Argument(help: "Username.") var name: String
        @Argument(help: "Chats per UTC day, or 'none' for unlimited.") var limit: String

        func run() async throws {
            var newLimit: Int?
            if limit != "none" {
                guard let value = Int(limit), value >= 0 else { throw ValidationError("The limit is a whole number or 'none'.") }
                newLimit = value
            }
            let (name, limit) = (name, newLimit)
            let user = try await database.withAccounts(storage: storage) { store in
                var user = try await UsersCommand.find(name, in: store)
                user.dailyMessageLimit = limit
                return try await store.updateUser(user)
            }
            print("Daily limit of '\(user.username)' is now \(user.dailyMessageLimit.map(String.init) ?? "unlimited").")
        }
    }

    struct Suspend: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Suspend a user (or lift it with --lift).")
        @OptionGroup var storage: StorageOptions
        @OptionGroup var database: DatabaseOptions
        @Argument(help: "Username.") var name: String
        @Flag(help: "Lift the suspension.") var lift = false

        func run() async throws {
            let (name, lift) = (name, lift)
            let user = try await database.withAccounts(storage: storage) { store in
                var user = try await UsersCommand.find(name, in: store)
                user.suspended = !lift
                return try await store.updateUser(user)
            }
            print(lift ? "'\(user.username)' may sign in again." : "'\(user.username)' is suspended; their tokens and keys are refused.")
        }
    }

    static func find(_ name: String, in store: any AccountStore) async throws -> User {
        guard let user = try await store.user(username: name) else {
            throw ValidationError("No user named '\(name)'.")
        }
        return user
    }
}
