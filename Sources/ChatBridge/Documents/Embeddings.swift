import AsyncHTTPClient
import Foundation
import Logging
import NIOCore

/// Turns passages and questions into vectors for cosine similarity.
public protocol Embedder: Sendable {
    /// Stored with every vector, so a change of model is noticed (and `agenthost documents reembed` fixes it).
    var model: String { get }
    /// One vector per input, in order.
    func embed(_ inputs: [String]) async throws -> [[Float]]
}

/// An OpenAI-compatible `POST {base}/embeddings` (`{"model", "input": [..]}` → `{"data": [{"index", "embedding"}]}`):
/// OpenAI, llama.cpp, Ollama, vLLM, LiteLLM.
public struct OpenAIEmbeddings: Embedder {
    public let settings: EmbeddingsSettings
    let client: HTTPClient
    let timeout: Duration
    let logger: Logger

    public var model: String { settings.model }

    public init(settings: EmbeddingsSettings, client: HTTPClient, timeout: Duration = .seconds(60),
                logger: Logger = Logger(label: "agenthost.embeddings")) {
        self.settings = settings
        self.client = client
        self.timeout = timeout
        self.logger = logger
    }

    public func embed(_ inputs: [String]) async throws -> [[Float]] {
        var vectors: [[Float]] = []
        vectors.reserveCapacity(inputs.count)
        var start = 0
        while start < inputs.count {
            let batch = Array(inputs[start..<min(start + max(settings.batchSize, 1), inputs.count)])
            vectors += try await request(batch)
            start += batch.count
        }
        return vectors
    }

    private func request(_ inputs: [String]) async throws -> [[Float]] {
        let base = settings.baseURL.hasSuffix("/") ? String(settings.baseURL.dropLast()) : settings.baseURL
        var request = HTTPClientRequest(url: base + "/embeddings")
        request.method = .POST
        request.headers.add(name: "content-type", value: "application/json")
        if let key = settings.apiKey, !key.isEmpty { request.headers.add(name: "authorization", value: "Bearer \(key)") }
        let body: JSONValue = ["model": .string(settings.model), "input": .array(inputs.map { .string($0) })]
        request.body = .bytes(ByteBuffer(bytes: body.serialized()))
        // Not the address: the message can reach users; the log has it.
        let what = "embeddings provider"
        let response: HTTPClientResponse
        let bytes: ByteBuffer
        do {
            response = try await client.execute(request, timeout: .nanoseconds(timeout.nanoseconds), logger: logger)
            bytes = try await response.body.collect(upTo: 256 << 20)
        } catch {
            if error is CancellationError || Task.isCancelled { throw CancellationError() }
            logger.error("embeddings request failed", metadata: [
                "base_url": "\(settings.baseURL)", "error": "\(String(reflecting: error))",
            ])
            throw APIError(.providerError, "The \(what) failed: \(ProviderFailure.describe(error)).")
        }
        let json = try? JSONValue(parsing: bytes.readableBytesView)
        guard (200..<300).contains(response.status.code) else {
            let detail = json?["error"]?["message"]?.stringValue ?? json?["error"]?.stringValue ?? String(buffer: bytes).prefix(300).description
            throw APIError(.providerError, "The \(what) answered HTTP \(response.status.code): \(detail)")
        }
        guard let data = json?["data"]?.arrayValue else {
            throw APIError(.providerError, "The \(what) answered without a 'data' array.")
        }
        var vectors = [[Float]?](repeating: nil, count: inputs.count)
        for (offset, item) in data.enumerated() {
            let index = item["index"]?.intValue ?? offset
            guard vectors.indices.contains(index), let values = item["embedding"]?.arrayValue else {
                throw APIError(.providerError, "The \(what) answered an unexpected item at \(offset).")
            }
            vectors[index] = values.map { Float($0.doubleValue ?? 0) }
        }
        let complete = vectors.compactMap { $0 }
        guard complete.count == inputs.count, let dimensions = complete.first?.count, dimensions > 0,
              complete.allSatisfy({ $0.count == dimensions }) else {
            throw APIError(.providerError, "The \(what) returned \(complete.count) vectors for \(inputs.count) inputs, or vectors of differing sizes.")
        }
        return complete
    }
}

/// A deterministic local embedding (feature hashing of words and their character trigrams into a
/// fixed number of dimensions). Not a language model: it stands in for one in the benchmark and in
/// tests, where no model is reachable, and gives vectors that favour shared words and word parts.
public struct HashingEmbedder: Embedder {
    public let dimensions: Int
    public var model: String { "hashing-\(dimensions)" }

    public init(dimensions: Int = 256) {
        self.dimensions = dimensions
    }

    public func embed(_ inputs: [String]) async throws -> [[Float]] {
        inputs.map(vector)
    }

    public func vector(_ text: String) -> [Float] {
        var vector = [Float](repeating: 0, count: dimensions)
        for word in LexicalQuery.words(text) {
            add(word, weight: 1, to: &vector)
            let padded = Array("^\(word)$".unicodeScalars)
            if padded.count > 4 {
                for start in 0...(padded.count - 3) {
                    add(String(String.UnicodeScalarView(padded[start..<start + 3])), weight: 0.3, to: &vector)
                }
            }
        }
        return VectorMath.normalized(vector)
    }

    private func add(_ feature: String, weight: Float, to vector: inout [Float]) {
        // FNV-1a: stable across runs and platforms, unlike `Hasher`.
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in feature.utf8 { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
        let index = Int(hash % UInt64(dimensions))
        vector[index] += (hash >> 63) == 0 ? weight : -weight
    }
}

/// Vector helpers: normalisation, dot products and the float32 blob format.
public enum VectorMath {
    public static func normalized(_ vector: [Float]) -> [Float] {
        var sum: Float = 0
        for value in vector { sum += value * value }
        guard sum > 0 else { return vector }
        let scale = 1 / sum.squareRoot()
        return vector.map { $0 * scale }
    }

    /// Little-endian float32 bytes.
    public static func blob(_ vector: [Float]) -> Data {
        var data = Data(capacity: vector.count * 4)
        for value in vector { withUnsafeBytes(of: value.bitPattern.littleEndian) { data.append(contentsOf: $0) } }
        return data
    }

    public static func vector(_ blob: Data) -> [Float] {
        let count = blob.count / 4
        var vector = [Float](repeating: 0, count: count)
        blob.withUnsafeBytes { raw in
            for index in 0..<count {
                vector[index] = Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: index * 4, as: UInt32.self)))
            }
        }
        return vector
    }
}
