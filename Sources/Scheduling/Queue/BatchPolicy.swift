/// How much work one hand-out to a slot carries.
///
/// A batch's estimated length is `remaining / (factor × live slots)`, so
/// batches are long at the start (amortising a runner's start-up cost) and
/// shrink toward the end of the run, where small pieces even out the slots.
/// It stays above `minSeconds` until a slot's fair share of the remaining
/// work is smaller than that, never below `hardFloorSeconds`, holds at
/// least one test and never more than `maxTests`.
public struct BatchPolicy: Sendable, Equatable, Codable {
    /// Upper bound on tests per batch; 1 makes every test its own batch.
    public var maxTests: Int
    /// Floor for a batch's estimated duration, in seconds.
    public var minSeconds: Double
    /// How many batches per slot the remaining work is cut into.
    public var factor: Double
    /// Below this no batch goes, even in the tail: a few times the runner's
    /// start-up cost, so tiny tail batches do not cost more than they balance.
    public var hardFloorSeconds: Double

    /// Creates a policy.
    public init(maxTests: Int, minSeconds: Double, factor: Double = 3, hardFloorSeconds: Double = 0) {
        precondition(maxTests >= 1 && factor > 0 && minSeconds >= 0 && hardFloorSeconds >= 0)
        self.maxTests = maxTests
        self.minSeconds = minSeconds
        self.factor = factor
        self.hardFloorSeconds = hardFloorSeconds
    }

    /// One test per batch: for runners whose start-up cost is one exec anyway.
    public static let singleTest = BatchPolicy(maxTests: 1, minSeconds: 0, factor: 1)

    /// The estimated duration a batch should aim for: never more than a
    /// fair share of what is left, so the floor cannot make the tail coarse.
    public func targetSeconds(remaining: Double, liveSlots: Int) -> Double {
        let slots = Double(max(1, liveSlots))
        return max(min(max(minSeconds, remaining / (factor * slots)), remaining / slots), hardFloorSeconds)
    }
}
