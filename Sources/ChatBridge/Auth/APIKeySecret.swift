import Crypto
import Foundation

/// The bearer secrets of API keys: `ahk_` followed by 43 URL-safe characters (256 random bits).
///
/// Only the SHA-256 of a secret is stored. A fast hash is right here, unlike for passwords,
/// because the secret has full entropy and cannot be guessed from a dictionary.
public enum APIKeySecret {
    public static let marker = "ahk_"

    /// A fresh secret, shown to its owner once.
    public static func generate() -> String {
        var bytes = [UInt8](repeating: 0, count: 32)
        var generator = SystemRandomNumberGenerator()
        for index in bytes.indices { bytes[index] = generator.next() }
        return marker + Base64URL.encode(bytes)
    }

    public static func looksLikeKey(_ token: String) -> Bool {
        token.hasPrefix(marker)
    }

    public static func hash(_ secret: String) -> String {
        SHA256.hash(data: Array(secret.utf8)).map { String(format: "%02x", $0) }.joined()
    }

    /// The part of a secret shown in listings.
    public static func displayPrefix(_ secret: String) -> String {
        String(secret.prefix(marker.count + 6))
    }
}

/// Base64 with the URL alphabet and no padding (RFC 4648 §5).
public enum Base64URL {
    public static func encode(_ bytes: some Sequence<UInt8>) -> String {
        Data(bytes).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    public static func decode(_ string: String) -> Data? {
        var base64 = string.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while base64.count % 4 != 0 { base64 += "=" }
        return Data(base64Encoded: base64)
    }
}
