/// How a batch of one run's frames is stored in one `run_frames` row, on every backend: one frame
/// per line as `type<TAB>json` (JSON text never holds a raw newline), numbered from the row's
/// `first_seq`.
extension RunFrame {
    /// The row body of `frames` (consecutive frames of one run).
    static func logBody(of frames: [RunFrame]) -> String {
        var body = ""
        body.reserveCapacity(frames.reduce(0) { $0 + $1.json.utf8.count + $1.type.utf8.count + 2 })
        for (index, frame) in frames.enumerated() {
            if index > 0 { body += "\n" }
            body += frame.type
            body += "\t"
            body += frame.json
        }
        return body
    }

    /// Appends the frames of a row body that come after `afterSeq` to `frames`, until it holds `limit`;
    /// returns the `seq` after the row's last frame.
    @discardableResult
    static func append(fromLogBody body: String, firstSeq: Int, after afterSeq: Int, limit: Int,
                       to frames: inout [RunFrame]) -> Int {
        var seq = firstSeq
        for line in body.split(separator: "\n", omittingEmptySubsequences: false) {
            defer { seq += 1 }
            guard seq > afterSeq, frames.count < limit else { continue }
            guard let tab = line.firstIndex(of: "\t") else { continue }
            frames.append(RunFrame(seq: seq, type: String(line[..<tab]), json: String(line[line.index(after: tab)...])))
        }
        return seq
    }
}
