/// Spots a broken slot (full disk, broken environment) from its results:
/// tests that fail far faster than they usually take, several in a row.
///
/// I/O-free; `TestQueue` feeds it every result. A slow failure, a pass or a
/// skip ends a streak, so a test that genuinely fails never quarantines a
/// slot by itself, and a suite that fails everywhere (a broken commit) keeps
/// its slots: a slot is only quarantined while another live slot's latest
/// result was healthy.
public struct SlotHealth: Sendable {
    /// When a failure counts as "far faster than usual", and how many in a row make a slot broken.
    public struct Policy: Sendable, Equatable {
        /// A failure shorter than `ratio` × the test's estimate is fast.
        public var ratio: Double
        /// Tests estimated under this many seconds never count (too short to tell).
        public var minimumEstimate: Double
        /// Consecutive fast failures that quarantine a slot.
        public var streak: Int

        /// Creates a policy.
        public init(ratio: Double = 0.2, minimumEstimate: Double = 1, streak: Int = 3) {
            self.ratio = ratio
            self.minimumEstimate = minimumEstimate
            self.streak = max(1, streak)
        }

        /// The default: under a fifth of the estimate, tests of a second or more, three in a row.
        public static let standard = Policy()
        /// Never quarantines.
        public static let off = Policy(ratio: 0, minimumEstimate: .infinity, streak: Int.max)
    }

    /// One fast failure in a streak: enough to undo it.
    public struct FastFailure: Sendable, Equatable {
        public var name: String
        public var attempt: Int
        public var estimate: Double
    }

    public let policy: Policy
    private var streaks: [SlotID: [FastFailure]] = [:]
    private var lastHealthy: [SlotID: Bool] = [:]

    /// Creates a tracker.
    public init(policy: Policy = .standard) {
        self.policy = policy
    }

    /// True when `attempt`, estimated at `estimate` seconds, failed far faster than that.
    public func isFast(_ attempt: TestAttempt, estimate: Double) -> Bool {
        attempt.status.isFailure && !attempt.infrastructure && estimate >= policy.minimumEstimate
            && attempt.duration < policy.ratio * estimate
    }

    /// Records a result; returns the slots that this makes broken, each with
    /// its streak: the result's own slot when its streak is long enough while
    /// another live slot is healthy, or, when this result is healthy, other
    /// slots whose streaks were waiting for a healthy slot to compare with.
    public mutating func observe(_ attempt: TestAttempt, estimate: Double, live: [SlotID]) -> [(slot: SlotID, streak: [FastFailure])] {
        let slot = attempt.slot
        if isFast(attempt, estimate: estimate) {
            lastHealthy[slot] = false
            streaks[slot, default: []].append(FastFailure(name: attempt.name, attempt: attempt.attempt, estimate: estimate))
        } else {
            streaks[slot] = nil
            lastHealthy[slot] = true
        }
        var broken: [(slot: SlotID, streak: [FastFailure])] = []
        for candidate in live {
            guard let streak = streaks[candidate], streak.count >= policy.streak,
                  live.contains(where: { $0 != candidate && lastHealthy[$0] == true }) else { continue }
            streaks[candidate] = nil
            broken.append((candidate, streak))
        }
        return broken
    }

    /// Forgets a slot that left the run.
    public mutating func forget(_ slot: SlotID) {
        streaks[slot] = nil
        lastHealthy[slot] = nil
    }
}
