import Foundation

/// A user's chat message as any transport receives it (SSE body, `ws/chat` frame, OpenAI endpoint).
public struct ChatRequest: Sendable, Equatable {
    public var message: String
    public var attachments: [Attachment]
    public var mode: Workspace.ChatMode?
    public var sessionId: String?
    /// Earlier turns sent by the client (the OpenAI-compatible endpoint); when set they replace the
    /// stored history window.
    public var history: [LLMMessage]?
    /// Instructions the client adds to the workspace's system prompt.
    public var clientSystemPrompt: String?

    public init(message: String, attachments: [Attachment] = [], mode: Workspace.ChatMode? = nil, sessionId: String? = nil,
                history: [LLMMessage]? = nil, clientSystemPrompt: String? = nil) {
        self.message = message
        self.attachments = attachments
        self.mode = mode
        self.sessionId = sessionId
        self.history = history
        self.clientSystemPrompt = clientSystemPrompt
    }
}

/// A file sent with a message: text files go into the context, images to models that take images.
public struct Attachment: Sendable, Equatable, Codable {
    public var name: String
    public var mime: String
    public var contentBase64: String

    public init(name: String, mime: String, contentBase64: String) {
        self.name = name
        self.mime = mime
        self.contentBase64 = contentBase64
    }
}

/// Limits on what one chat message may carry.
public struct ChatLimits: Sendable, Equatable {
    public var maxMessageCharacters = 100_000
    public var maxAttachments = 10
    public var maxTextAttachmentBytes = 512 * 1024
    public var maxImageBytes = 3 * 1024 * 1024

    public init() {}

    static let imageTypes: Set<String> = ["image/png", "image/jpeg", "image/gif", "image/webp"]
    static let textTypes: Set<String> = [
        "application/json", "application/xml", "application/x-yaml", "application/yaml", "application/javascript",
        "application/x-sh", "application/sql", "application/toml",
    ]

    static func isText(_ mime: String) -> Bool {
        mime.hasPrefix("text/") || textTypes.contains(mime)
    }
}

/// An attachment after validation: its text, or its image, and what is stored of it.
struct DecodedAttachment: Sendable {
    var info: AttachmentInfo
    var text: String?
    var image: ImageAttachment?
}

extension ChatRequest {
    /// Validates the message and decodes its attachments, with errors a client can act on.
    func validated(limits: ChatLimits) throws -> [DecodedAttachment] {
        let trimmed = message.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !trimmed.isEmpty else { throw APIError.validation("Field 'message' must not be empty.") }
        guard message.count <= limits.maxMessageCharacters else {
            throw APIError(.tooLarge, "The message has \(message.count) characters; the limit is \(limits.maxMessageCharacters).")
        }
        guard attachments.count <= limits.maxAttachments else {
            throw APIError.validation("At most \(limits.maxAttachments) attachments may be sent with one message.")
        }
        return try attachments.enumerated().map { index, attachment in
            let mime = attachment.mime.lowercased().split(separator: ";").first.map { $0.trimmingCharacters(in: .whitespaces) } ?? ""
            guard let data = Data(base64Encoded: attachment.contentBase64, options: .ignoreUnknownCharacters) else {
                throw APIError.validation("attachments[\(index)].content_base64 is not valid base64.")
            }
            let info = AttachmentInfo(name: attachment.name, mime: mime, size: data.count)
            if ChatLimits.imageTypes.contains(mime) {
                guard data.count <= limits.maxImageBytes else {
                    throw APIError(.tooLarge, "Image '\(attachment.name)' is \(data.count) bytes; the limit is \(limits.maxImageBytes).")
                }
                return DecodedAttachment(info: info, image: ImageAttachment(mime: mime, base64: data.base64EncodedString()))
            }
            guard ChatLimits.isText(mime) else {
                throw APIError.validation(
                    "Attachment '\(attachment.name)' has type '\(attachment.mime)'; send text (text/*, JSON, XML, YAML) or an image (PNG, JPEG, GIF, WebP).")
            }
            guard data.count <= limits.maxTextAttachmentBytes else {
                throw APIError(.tooLarge, "Attachment '\(attachment.name)' is \(data.count) bytes; the limit for text is \(limits.maxTextAttachmentBytes).")
            }
            guard let text = String(data: data, encoding: .utf8) else {
                throw APIError.validation("Attachment '\(attachment.name)' is not UTF-8 text.")
            }
            return DecodedAttachment(info: info, text: text)
        }
    }
}
