/// Waiting requests served round-robin across users: each user's requests in arrival order, one
/// per user per turn, so one user's burst cannot starve another user's single request.
struct FairLine: Sendable {
    private var perUser: [String: [UInt64]] = [:]
    /// Users with waiting requests, in the order their turns come.
    private var ring: [String] = []
    private(set) var count = 0

    var isEmpty: Bool { count == 0 }

    mutating func append(_ id: UInt64, user: String) {
        if perUser[user, default: []].isEmpty { ring.append(user) }
        perUser[user, default: []].append(id)
        count += 1
    }

    /// The next request to serve; its user's turn moves to the end of the ring.
    mutating func popNext() -> UInt64? {
        guard !ring.isEmpty else { return nil }
        let user = ring.removeFirst()
        let id = perUser[user]!.removeFirst()
        if perUser[user]!.isEmpty { perUser[user] = nil } else { ring.append(user) }
        count -= 1
        return id
    }

    /// Removes a request that left (cancelled, disconnected or timed out); false if it was not waiting.
    mutating func remove(_ id: UInt64, user: String) -> Bool {
        guard let index = perUser[user]?.firstIndex(of: id) else { return false }
        perUser[user]!.remove(at: index)
        if perUser[user]!.isEmpty {
            perUser[user] = nil
            ring.removeAll { $0 == user }
        }
        count -= 1
        return true
    }

    /// The order in which the waiting requests will be served if nothing else arrives: round `r`
    /// serves every user's `r`-th request, in ring order (what repeated ``popNext()`` yields).
    func serviceOrder() -> [UInt64] {
        var order: [UInt64] = []
        order.reserveCapacity(count)
        var round = 0
        while order.count < count {
            for user in ring {
                if let line = perUser[user], round < line.count { order.append(line[round]) }
            }
            round += 1
        }
        return order
    }
}
