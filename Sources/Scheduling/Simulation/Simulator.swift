import Foundation

/// Plays a run on a virtual clock through the real `TestQueue`: the
/// `--dry-run` plan (with estimates as durations) and the property tests and
/// benchmarks (with estimates and actual durations apart).
public enum Simulator {
    /// One test as the simulation sees it.
    public struct Test: Sendable {
        public var name: String
        /// What the scheduler believes.
        public var estimate: Double
        /// What it really takes.
        public var actual: Double

        public init(name: String, estimate: Double, actual: Double) {
            self.name = name
            self.estimate = estimate
            self.actual = actual
        }
    }

    /// One test placed on the timeline.
    public struct Placement: Sendable, Equatable {
        public var name: String
        public var slot: Int
        public var batch: Int
        public var start: Double
        public var end: Double
    }

    /// What a simulated run produced.
    public struct Result: Sendable {
        public var makespan: Double
        public var lowerBound: Double
        public var placements: [Placement]
        public var batches: Int
        /// Busy seconds per slot.
        public var slotBusy: [Double]
    }

    /// Simulates `tests` on `slots` identical slots; every batch costs `batchOverhead` seconds before its first test.
    public static func run(tests: [Test], slots: Int, policy: BatchPolicy, batchOverhead: Double = 0) -> Result {
        precondition(slots > 0)
        let ids = (0..<slots).map { SlotID(target: "sim", host: "sim", index: $0) }
        var queue = TestQueue(
            tests: Dictionary(tests.map { ($0.name, $0.estimate) }, uniquingKeysWith: { a, _ in a }),
            slots: ids, policy: policy)
        let actual = Dictionary(tests.map { ($0.name, $0.actual) }, uniquingKeysWith: { a, _ in a })
        var free = Array(repeating: 0.0, count: slots)
        var active = Set(0..<slots)
        var placements: [Placement] = []
        var batches = 0
        let epoch = Date(timeIntervalSince1970: 0)
        while let index = active.min(by: { (free[$0], $0) < (free[$1], $1) }) {
            switch queue.next(for: ids[index], now: free[index]) {
            case .done:
                active.remove(index)
            case .wait:
                // Only failures or lost slots cause waits; neither happens here.
                active.remove(index)
            case .run(let batch):
                batches += 1
                var clock = free[index] + batchOverhead
                for entry in batch.entries {
                    let end = clock + (actual[entry.name] ?? entry.estimate)
                    placements.append(Placement(name: entry.name, slot: index, batch: batch.id, start: clock, end: end))
                    _ = queue.record(TestAttempt(
                        name: entry.name, attempt: entry.attempt, status: .passed, slot: ids[index],
                        start: epoch.addingTimeInterval(clock), end: epoch.addingTimeInterval(end)))
                    clock = end
                }
                _ = queue.finishBatch(on: ids[index])
                free[index] = clock
            }
        }
        var busy = Array(repeating: 0.0, count: slots)
        for placement in placements { busy[placement.slot] += placement.end - placement.start }
        return Result(
            makespan: free.max() ?? 0,
            lowerBound: Makespan.lowerBound(durations: tests.map(\.actual), slots: slots),
            placements: placements, batches: batches, slotBusy: busy)
    }
}
