/// Bounds and baselines for a run's makespan (its wall time from first start to last end).
public enum Makespan {
    /// No schedule of these durations on `slots` slots can end sooner than
    /// `max(longest test, total / slots)`.
    public static func lowerBound(durations: [Double], slots: Int) -> Double {
        guard slots > 0, !durations.isEmpty else { return 0 }
        let total = durations.reduce(0, +)
        return max(durations.max() ?? 0, total / Double(slots))
    }

    /// The makespan of run-tests.py's static split (`--shard-total N
    /// --shard-index I`): the name-sorted list dealt round-robin, one process
    /// per shard, each paying `overhead` once.
    public static func staticSplit(durations: [String: Double], shards: Int, overhead: Double = 0) -> Double {
        guard shards > 0 else { return 0 }
        var sums = Array(repeating: 0.0, count: shards)
        for (index, name) in durations.keys.sorted().enumerated() {
            sums[index % shards] += durations[name]!
        }
        return sums.map { $0 > 0 ? $0 + overhead : 0 }.max() ?? 0
    }
}
