/// A group of tests handed to one slot, to run one after the other.
public struct Batch: Sendable, Equatable {
    /// One test of the batch.
    public struct Entry: Sendable, Equatable {
        /// The test's name.
        public var name: String
        /// Which attempt this is (1 = first run).
        public var attempt: Int
        /// The estimated duration the scheduler used, in seconds.
        public var estimate: Double
    }

    /// Unique within a queue, increasing in hand-out order.
    public var id: Int
    /// The slot it was handed to.
    public var slot: SlotID
    /// The tests, longest first.
    public var entries: [Entry]
    /// Scheduler time at which it was handed out.
    public var startedAt: Double

    /// The names of the tests, in order.
    public var names: [String] { entries.map(\.name) }
    /// The batch's estimated duration.
    public var estimate: Double { entries.reduce(0) { $0 + $1.estimate } }
}

/// What a slot should do next.
public enum Assignment: Sendable, Equatable {
    /// Run this batch.
    case run(Batch)
    /// Nothing for this slot now, but tests are still in flight elsewhere and
    /// may come back (retries, re-queues): ask again after the next change.
    case wait
    /// The run is over for this slot.
    case done
}
