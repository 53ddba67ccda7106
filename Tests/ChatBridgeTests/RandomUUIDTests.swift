import ChatBridge
import Foundation
import Testing

@Suite struct RandomUUIDTests {
    @Test func idsFromTheSystemGeneratorAreVersion4AndDistinct() {
        let ids = (0..<10_000).map { _ in UUID.random() }
        #expect(Set(ids).count == ids.count)
        for id in ids {
            let text = Array(id.uuidString)
            #expect(text[14] == "4")
            #expect("89AB".contains(text[19]))
        }
        // Foundation parses them back: they are well-formed UUIDs, not just strings of the right shape.
        #expect(ids.allSatisfy { UUID(uuidString: $0.uuidString) == $0 })
    }
}
