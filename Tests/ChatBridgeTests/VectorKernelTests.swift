import Foundation
import Testing
import VectorKernels

@testable import ChatBridge

/// The half-precision vector scan behind document retrieval (issue 17): its conversions against
/// Swift's own `Float16`, the AVX2 kernels against the portable ones, and the index's ranking
/// against single-precision cosine similarity.
@Suite("Half-precision vector kernels")
struct VectorKernelTests {
    @Test func everyHalfWidensAsSwiftsFloat16Does() {
        for pattern in UInt16.min...UInt16.max {
            let expected = Float(Float16(bitPattern: pattern))
            let widened = vk_float_from_half(pattern)
            if expected.isNaN {
                #expect(widened.isNaN, "\(pattern)")
            } else {
                #expect(widened.bitPattern == expected.bitPattern, "\(pattern): \(widened) vs \(expected)")
            }
        }
    }

    /// Floats that test rounding: every finite half, the midpoints between neighbours (ties go to
    /// the even one), values a hair either side of those, the overflow edge and random values
    /// across the normal and subnormal ranges.
    static let roundingCases: [Float] = {
        var values: [Float] = [0, -0, 65504, 65519.996, 65520, 1e6, -1e6, .infinity, -.infinity, .leastNonzeroMagnitude,
                               Float(bitPattern: 0x3380_0000), Float(bitPattern: 0x3380_0001), Float(bitPattern: 0x337f_ffff)]
        for pattern in UInt16(0)..<0x7c00 {
            let low = Float(Float16(bitPattern: pattern)), high = Float(Float16(bitPattern: pattern + 1))
            let middle = (low + high) / 2
            values += [low, -low, middle, -middle, middle.nextUp, middle.nextDown]
        }
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<20_000 {
            let magnitude = Float.random(in: -30...17, using: &generator)
            values.append(Float.random(in: -1...1, using: &generator) * Float(pow(2, Double(magnitude))))
        }
        return values
    }()

    @Test func portableRoundingMatchesSwiftsFloat16() {
        let values = Self.roundingCases
        var halves = [UInt16](repeating: 0, count: values.count)
        vk_half_from_float_portable(values, &halves, values.count)
        // The first mismatch only (a message listing all of them would be megabytes).
        let mismatch = zip(values, halves).first { value, half in Float16(value).bitPattern != half }
            .map { value, half in "\(value) (0x\(String(value.bitPattern, radix: 16))) became 0x\(String(half, radix: 16)), not 0x\(String(Float16(value).bitPattern, radix: 16))" }
        #expect(mismatch == nil)
    }

    /// The accelerated kernels are the ones that run on this machine; the portable ones run on
    /// processors without AVX2, so both must give the same halves and (up to the order of the
    /// additions) the same dot products.
    @Test func acceleratedKernelsAgreeWithPortableOnes() throws {
        let flags = try String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)
            .split(separator: "\n").first { $0.hasPrefix("flags") }.map { Set($0.split(separator: " ").map(String.init)) } ?? []
        #expect(vk_is_accelerated() == flags.isSuperset(of: ["avx2", "f16c", "fma"]))

        let values = Self.roundingCases
        var fast = [UInt16](repeating: 0, count: values.count), portable = fast
        vk_half_from_float(values, &fast, values.count)
        vk_half_from_float_portable(values, &portable, values.count)
        #expect(fast.indices.first { fast[$0] != portable[$0] }.map { "\(values[$0]): 0x\(String(fast[$0], radix: 16)) vs 0x\(String(portable[$0], radix: 16))" } == nil)

        // Dimension counts that exercise the 16-wide loop, the 8-wide step and the scalar tail.
        for dimensions in [1, 4, 8, 15, 16, 24, 256, 389] {
            let rows = 37
            let vectors = (0..<rows).map { _ in Self.unitVector(dimensions) }
            let query = Self.unitVector(dimensions)
            var stored = [UInt16](repeating: 0, count: rows * dimensions)
            vk_half_from_float(vectors.flatMap { $0 }, &stored, stored.count)
            var fastScores = [Float](repeating: .nan, count: rows), portableScores = fastScores
            vk_dot_half_rows(stored, rows, dimensions, query, &fastScores)
            vk_dot_half_rows_portable(stored, rows, dimensions, query, &portableScores)
            for row in 0..<rows {
                let exact = zip(vectors[row], query).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
                #expect(abs(Double(fastScores[row]) - Double(portableScores[row])) < 1e-5, "\(dimensions) dimensions, row \(row)")
                // Half precision moves a unit vector's cosine by less than 2^-11.
                #expect(abs(Double(fastScores[row]) - exact) < 5e-4, "\(dimensions) dimensions, row \(row)")
            }
        }
    }

    /// The index keeps to the searched documents, leaves out skipped chunks, and ranks as
    /// single-precision cosine similarity does when the scores are further apart than the rounding.
    @Test func theIndexRanksAsSinglePrecisionCosineDoes() {
        let dimensions = 64
        var index = VectorIndex(revision: 1, model: "m")
        var vectors: [Int64: [Float]] = [:]
        // 600 chunks in runs of documents of 1 to 20 chunks; documents with an even id are searched.
        var id: Int64 = 0, document: Int64 = 0
        while id < 600 {
            document += 1
            for _ in 0..<Int.random(in: 1...20) {
                id += 1
                let vector = Self.unitVector(dimensions)
                vectors[id] = vector
                index.append(vector, id: id, documentId: document)
            }
        }
        // A vector of another length (another model's) is left out rather than misread.
        index.append([1, 0], id: id + 1, documentId: document)
        #expect(index.ids.count == vectors.count)

        let documentOfChunk = Dictionary(uniqueKeysWithValues: zip(index.ids, index.documentIds))
        let searched = Set(documentOfChunk.values.filter { $0 % 2 == 0 })
        let query = Self.unitVector(dimensions)
        let exact = vectors.filter { searched.contains(documentOfChunk[$0.key]!) }
            .map { (id: $0.key, score: zip($0.value, query).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }) }
            .sorted { $0.score > $1.score }
        let skipped: Set<Int64> = [exact[1].id]
        let expected = exact.filter { !skipped.contains($0.id) }

        let top = index.top(query, count: 25, documents: searched, skipping: skipped)
        #expect(top.count == 25)
        #expect(top.allSatisfy { searched.contains(documentOfChunk[$0.id]!) && !skipped.contains($0.id) })
        for (rank, hit) in top.enumerated() {
            #expect(abs(hit.score - max(expected[rank].score, 0)) < 5e-4)
            // Neighbours closer than the rounding may trade places; anything further apart keeps its order.
            if rank + 1 < expected.count, expected[rank].score - expected[rank + 1].score > 1e-3,
               rank == 0 || expected[rank - 1].score - expected[rank].score > 1e-3 {
                #expect(hit.id == expected[rank].id, "rank \(rank)")
            }
        }
        #expect(abs(index.score(of: exact[0].id, query: query)! - exact[0].score) < 5e-4)
        #expect(index.score(of: id + 1, query: query) == nil)
        #expect(index.top(Array(query.prefix(8)), count: 5, documents: searched).isEmpty)
    }

    static func unitVector(_ dimensions: Int) -> [Float] {
        VectorMath.normalized((0..<dimensions).map { _ in Float.random(in: -1...1) })
    }
}
