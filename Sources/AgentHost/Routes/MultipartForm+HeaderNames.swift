import ChatBridge

extension MultipartForm {
    /// Refuses a body in which a part header's name has a byte outside ASCII, before multipart-kit
    /// sees it: its parser (4.7.1) looks every header-name byte up in a 128-entry table, so a byte of
    /// 0x80 or more there traps and kills the process (found by schemathesis: `\xf4` as the first byte
    /// after a delimiter). RFC 7230 field names are ASCII tokens, so no valid upload is refused.
    ///
    /// A header section is what follows every `--boundary` line: a superset of where the parser reads
    /// header names, whatever state it is in. Its lines are read both ways a client may mean them and
    /// the parser reads them: ending at `\n`, and ending at `\r` as the parser's do (a bare `\n`
    /// stays inside a header's value there, so `…\n\r\n\xF4:` puts `\xF4` where it reads a name).
    /// The delimiter is found with Knuth–Morris–Pratt, so a body of near-misses costs one pass, not
    /// one comparison per boundary byte per body byte.
    static func checkHeaderNames(_ body: [UInt8], boundary: String) throws {
        let delimiter = Array("--\(boundary)".utf8)
        var failure = [Int](repeating: 0, count: delimiter.count)
        var matched = 0
        for index in 1..<delimiter.count {
            while matched > 0, delimiter[index] != delimiter[matched] { matched = failure[matched - 1] }
            if delimiter[index] == delimiter[matched] { matched += 1 }
            failure[index] = matched
        }
        matched = 0
        var index = 0
        while index < body.count {
            while matched > 0, body[index] != delimiter[matched] { matched = failure[matched - 1] }
            if body[index] == delimiter[matched] { matched += 1 }
            index += 1
            if matched == delimiter.count {
                try checkHeaderSection(body, from: index, boundary: boundary, lineEnd: UInt8(ascii: "\n"), lineBreak: 1)
                try checkHeaderSection(body, from: index, boundary: boundary, lineEnd: UInt8(ascii: "\r"), lineBreak: 2)
                matched = failure[matched - 1]
            }
        }
    }

    /// Checks the header names of the section after a delimiter ending at `start`: the rest of the
    /// delimiter line, then lines up to the first empty one; a name is what precedes a line's first `:`.
    /// A line ends at `lineEnd`, and the next starts `lineBreak` bytes later (`\r\n` read as ending at `\r`).
    private static func checkHeaderSection(_ body: [UInt8], from start: Int, boundary: String, lineEnd: UInt8, lineBreak: Int) throws {
        var index = start
        // The rest of the delimiter line (`--` of the closing one, transport padding).
        while index < body.count, body[index] != lineEnd { index += 1 }
        index += lineBreak
        while index < body.count {
            if body[index] == UInt8(ascii: "\r") { return }  // the empty line: the part's bytes follow
            var inName = true
            while index < body.count, body[index] != lineEnd {
                if body[index] == UInt8(ascii: ":") { inName = false }
                if inName, body[index] >= 0x80 {
                    throw APIError.validation(
                        "The multipart/form-data body is malformed (boundary '\(boundary)'): a part header name has a non-ASCII byte.")
                }
                index += 1
            }
            index += lineBreak
        }
    }
}
