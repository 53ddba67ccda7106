import AgentHost
import AgentHostTesting
import Foundation

/// A deterministic synthetic corpus: a vocabulary of pseudo-words drawn with a Zipf distribution,
/// so a few words are in most chats and most words are rare, as in real text.
struct BenchCorpus {
    static let vocabularySize = 20_000
    let words: [String]
    /// Cumulative Zipf weights (s = 1.05) for sampling by rank.
    private let cumulative: [Double]

    init() {
        var rng = SplitMix64(seed: 42)
        let onsets = ["b", "c", "d", "f", "g", "h", "j", "k", "l", "m", "n", "p", "r", "s", "t", "v", "w", "z", "br", "st", "tr", "pl", "gr", "sh", "ch"]
        let vowels = ["a", "e", "i", "o", "u", "ai", "ou", "ea"]
        let codas = ["", "n", "r", "s", "t", "l", "m", "x", "nd", "rk"]
        var seen = Set<String>()
        var words: [String] = []
        while words.count < Self.vocabularySize {
            let syllables = 1 + Int(rng.next() % 3)
            var word = ""
            for _ in 0..<syllables {
                word += onsets[Int(rng.next() % UInt64(onsets.count))] + vowels[Int(rng.next() % UInt64(vowels.count))]
                    + codas[Int(rng.next() % UInt64(codas.count))]
            }
            if word.count >= 3, seen.insert(word).inserted { words.append(word) }
        }
        self.words = words
        var total = 0.0
        cumulative = (1...Self.vocabularySize).map { rank in
            total += 1 / pow(Double(rank), 1.05)
            return total
        }
    }

    func word(_ rng: inout SplitMix64) -> String {
        let target = Double(rng.next() >> 11) / Double(1 << 53) * cumulative[cumulative.count - 1]
        var low = 0
        var high = cumulative.count - 1
        while low < high {
            let middle = (low + high) / 2
            if cumulative[middle] < target { low = middle + 1 } else { high = middle }
        }
        return words[low]
    }

    func sentence(_ rng: inout SplitMix64, words count: Int) -> String {
        var text = ""
        text.reserveCapacity(count * 7)
        for index in 0..<count {
            if index > 0 { text += index % 12 == 0 ? ". " : " " }
            text += word(&rng)
        }
        return text + "."
    }
}
