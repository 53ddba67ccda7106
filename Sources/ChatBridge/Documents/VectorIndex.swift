import VectorKernels

/// The vectors of one workspace in one flat array, for cosine top-k by dot products (the vectors
/// are unit length).
///
/// They are kept in half precision: a hybrid search reads every vector of the workspace, the read
/// is bound by memory bandwidth, and half the bytes made the scan of 100k 256-dimension vectors
/// about twice as fast (and the index half the size). A unit vector's components lose at most
/// 2^-11 of their value, so a cosine similarity moves by less than 0.0005.
struct VectorIndex: Sendable {
    var revision: Int64
    var model: String
    /// Chunk ids, ascending (the store hands vectors over in id order).
    private(set) var ids: [Int64] = []
    /// The document of each chunk, so a search keeps to one owner's documents.
    private(set) var documentIds: [Int64] = []
    /// Set by the first vector; vectors of another length (a model changed mid-way) are left out.
    private(set) var dimensions = 0
    /// Row-major, `dimensions` half-precision bit patterns per chunk.
    private var halves: [UInt16] = []

    init(revision: Int64, model: String) {
        self.revision = revision
        self.model = model
    }

    var isEmpty: Bool { ids.isEmpty }

    /// Adds the vector of chunk `id`, whose id must be above every id added so far.
    mutating func append(_ vector: [Float], id: Int64, documentId: Int64) {
        if dimensions == 0 { dimensions = vector.count }
        guard vector.count == dimensions, dimensions > 0 else { return }
        ids.append(id)
        documentIds.append(documentId)
        let start = halves.count
        halves.append(contentsOf: repeatElement(0, count: dimensions))
        halves.withUnsafeMutableBufferPointer { all in
            vector.withUnsafeBufferPointer { vk_half_from_float($0.baseAddress, all.baseAddress! + start, dimensions) }
        }
    }

    /// The `count` chunks of `documents` most similar to `query`, leaving out `skipping`.
    func top(_ query: [Float], count: Int, documents: Set<Int64>, skipping: Set<Int64> = []) -> [(id: Int64, score: Double)] {
        guard query.count == dimensions, dimensions > 0, count > 0 else { return [] }
        var best: [(id: Int64, score: Float)] = []
        best.reserveCapacity(count + 1)
        var floor = -Float.infinity
        var scores = [Float](repeating: 0, count: ids.count)
        // A workspace's chunks come in id order, so a document's are mostly consecutive: its
        // membership is looked up once per run of rows, and a run is scored in one call.
        var start = 0
        while start < ids.count {
            let document = documentIds[start]
            var end = start + 1
            while end < ids.count, documentIds[end] == document { end += 1 }
            defer { start = end }
            guard documents.contains(document) else { continue }
            scores.withUnsafeMutableBufferPointer { dots(of: start..<end, with: query, into: $0.baseAddress! + start) }
            for row in start..<end {
                let dot = scores[row]
                guard best.count < count || dot > floor, skipping.isEmpty || !skipping.contains(ids[row]) else { continue }
                let position = best.firstIndex { $0.score < dot } ?? best.count
                best.insert((ids[row], dot), at: position)
                if best.count > count { best.removeLast() }
                floor = best.count == count ? best[best.count - 1].score : -.infinity
            }
        }
        return best.map { ($0.id, Double(max($0.score, 0))) }
    }

    /// The cosine similarity of one chunk and `query` (negative as 0), `nil` when it has no vector here.
    func score(of chunkId: Int64, query: [Float]) -> Double? {
        guard query.count == dimensions, dimensions > 0 else { return nil }
        let row = ids.partitioningIndex { $0 >= chunkId }
        guard row < ids.count, ids[row] == chunkId else { return nil }
        var dot: Float = 0
        dots(of: row..<row + 1, with: query, into: &dot)
        return Double(max(dot, 0))
    }

    /// The dot products of `rows` with `query` (of `dimensions` values), one per row from `scores` on.
    private func dots(of rows: Range<Int>, with query: [Float], into scores: UnsafeMutablePointer<Float>) {
        halves.withUnsafeBufferPointer { all in
            vk_dot_half_rows(all.baseAddress! + rows.lowerBound * dimensions, rows.count, dimensions, query, scores)
        }
    }
}
