import ChatBridge
import Foundation
import MultipartKit
import NIOCore

/// `multipart/form-data` (RFC 7578): the parts of a body, each with its name, filename, type and bytes.
enum MultipartForm {
    struct Part: Sendable, Equatable {
        var name: String?
        var filename: String?
        var contentType: String?
        var data: [UInt8]
    }

    /// The parts of `body`, split by `vapor/multipart-kit`'s streaming parser (one pass, each byte
    /// looked at a bounded number of times) once the boundary is known to follow RFC 2046.
    static func parse(_ body: [UInt8], contentType: String) throws -> [Part] {
        guard let boundary = parameter("boundary", in: contentType), !boundary.isEmpty else {
            throw APIError.validation("A multipart/form-data body needs a boundary parameter in its Content-Type.")
        }
        try checkBoundary(boundary)
        try checkHeaderNames(body, boundary: boundary)
        let malformed = APIError.validation("The multipart/form-data body is malformed (boundary '\(boundary)').")
        var parts: [Part] = []
        var current = Part(data: [])
        /// Whether a part has begun (headers or bytes seen) and not yet ended with a delimiter.
        var open = false
        let parser = MultipartParser(boundary: boundary)
        parser.onHeader = { field, value in
            open = true
            switch field.lowercased() {
            case "content-disposition":
                current.name = parameter("name", in: value)
                // RFC 6266 §4.3: the extended `filename*` (RFC 5987, any characters) wins over `filename`.
                current.filename = parameter("filename*", in: value).flatMap(decodeExtended) ?? parameter("filename", in: value)
            case "content-type":
                current.contentType = value.trimmingCharacters(in: .whitespaces)
            default:
                break
            }
        }
        parser.onBody = { chunk in
            open = true
            current.data += chunk.readableBytesView
        }
        parser.onPartComplete = {
            parts.append(current)
            current = Part(data: [])
            open = false
        }
        do {
            try parser.execute(ByteBuffer(bytes: body))
        } catch {
            throw malformed
        }
        // A part cut off before its closing delimiter is a truncated upload, not a shorter file.
        guard !open, !parts.isEmpty else { throw malformed }
        return parts
    }

    /// RFC 2046 §5.1.1: 1 to 70 characters of `bchars` (letters, digits and `'()+_,-./:=?` and
    /// space), not ending in a space. A longer boundary only costs the parser work (a 60,000-character
    /// one burned 30 s of CPU in the old parser), so it is refused before the body is looked at.
    static func checkBoundary(_ boundary: String) throws {
        let allowed = Set("'()+_,-./:=? ".unicodeScalars)
        let valid = (1...70).contains(boundary.unicodeScalars.count)
            && boundary.unicodeScalars.allSatisfy { ($0.isASCII && CharacterSet.alphanumerics.contains($0)) || allowed.contains($0) }
            && boundary.last != " "
        guard valid else {
            let shown = boundary.count > 40 ? String(boundary.prefix(40)) + "…" : boundary
            throw APIError.validation(
                "The multipart boundary '\(shown)' (\(boundary.unicodeScalars.count) characters) is not valid: RFC 2046 allows 1 to 70 "
                    + "letters, digits, spaces and ' ( ) + _ , - . / : = ?, not ending in a space.")
        }
    }

    /// A `key=value` or `key="value"` parameter of a header value (the part after the first `;`).
    /// Quoted values may hold `;` and `=`; in them `\"` and `\\` stand for `"` and `\`, and any other
    /// backslash is kept, as old browsers send Windows paths unescaped.
    static func parameter(_ key: String, in header: String) -> String? {
        let characters = Array(header)
        var index = characters.firstIndex(of: ";") ?? characters.endIndex
        while index < characters.endIndex {
            index += 1  // past ';'
            while index < characters.endIndex, characters[index] == " " || characters[index] == "\t" { index += 1 }
            var name = ""
            while index < characters.endIndex, characters[index] != "=", characters[index] != ";" {
                name.append(characters[index])
                index += 1
            }
            var value = ""
            if index < characters.endIndex, characters[index] == "=" {
                index += 1
                if index < characters.endIndex, characters[index] == "\"" {
                    index += 1
                    while index < characters.endIndex, characters[index] != "\"" {
                        if characters[index] == "\\", index + 1 < characters.endIndex,
                           characters[index + 1] == "\"" || characters[index + 1] == "\\" {
                            index += 1
                        }
                        value.append(characters[index])
                        index += 1
                    }
                    // Skip the closing quote and anything up to the next parameter.
                    while index < characters.endIndex, characters[index] != ";" { index += 1 }
                } else {
                    while index < characters.endIndex, characters[index] != ";" {
                        value.append(characters[index])
                        index += 1
                    }
                    value = value.trimmingCharacters(in: .whitespaces)
                }
            }
            if name.trimmingCharacters(in: .whitespaces).lowercased() == key { return value }
        }
        return nil
    }

    /// The value of an RFC 5987 extended parameter, `charset'language'percent-encoded`
    /// (`UTF-8''%E2%82%AC%20rates.md`); `nil` when malformed or of another charset than UTF-8 or
    /// ISO-8859-1 (the two RFC 5987 requires).
    static func decodeExtended(_ value: String) -> String? {
        let pieces = value.split(separator: "'", maxSplits: 2, omittingEmptySubsequences: false)
        guard pieces.count == 3 else { return nil }
        var bytes: [UInt8] = []
        var utf8 = Array(pieces[2].utf8)[...]
        while let byte = utf8.popFirst() {
            if byte == UInt8(ascii: "%") {
                guard utf8.count >= 2, let decoded = UInt8(String(decoding: utf8.prefix(2), as: UTF8.self), radix: 16) else {
                    return nil
                }
                bytes.append(decoded)
                utf8 = utf8.dropFirst(2)
            } else {
                bytes.append(byte)
            }
        }
        switch pieces[0].lowercased() {
        case "utf-8": return String(validating: bytes, as: UTF8.self)
        case "iso-8859-1": return String(String.UnicodeScalarView(bytes.map { Unicode.Scalar($0) }))
        default: return nil
        }
    }

    /// The last component of a filename a client sent with its directories (`C:\x\a.md`,
    /// `../a.md` → `a.md`): only the file's own name is meaningful here, and a path would leak the
    /// uploader's directory layout into every listing.
    static func baseName(_ filename: String) -> String {
        let last = filename.split(whereSeparator: { $0 == "/" || $0 == "\\" }).last.map(String.init) ?? ""
        return last == "." || last == ".." ? "" : last
    }
}
