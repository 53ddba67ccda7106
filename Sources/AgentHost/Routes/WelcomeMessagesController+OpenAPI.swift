import OpenAPIKit

extension WelcomeMessagesController {
    static let openAPIOperations: [APIOperation] = [
        APIOperation(.get, "/api/welcome-messages", id: "listWelcomeMessages", tag: "Welcome messages",
                     summary: "Messages for the caller: their own and everyone's, by `order_index`",
                     responses: [200: .json("The messages.", .object(properties: ["welcome_messages": .array(items: APISchemas.ref("WelcomeMessage"))]))]),
        APIOperation(
            .post, "/api/welcome-messages", id: "createWelcomeMessage", tag: "Welcome messages", summary: "Add a welcome message",
            description: "`user_id` left out: the caller's own (everyone's, for an admin); `null`: everyone's. Only admins write "
                + "for others.",
            body: .json(.object(properties: [
                "user_message": .string(required: false, nullable: true), "response": .string(minLength: 1),
                "order_index": .integer(required: false), "user_id": .integer(format: .int64, required: false, nullable: true),
            ])),
            responses: [201: .json("The stored message.", APISchemas.ref("WelcomeMessage"))], errors: [.notFound]),
    ]
}
