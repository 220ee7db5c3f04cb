import Foundation
import Testing
import TestSupport
@testable import Scheduling

@Suite("Makespan properties")
struct MakespanPropertyTests {
    static let policies: [BatchPolicy] = [.singleTest, BatchPolicy(maxTests: 100, minSeconds: 2), BatchPolicy(maxTests: 20, minSeconds: 0.5, factor: 2)]

    @Test("never below the lower bound, never above total/slots plus the longest batch", arguments: 0..<40)
    func bounds(seed: Int) {
        var rng = SplitMix64(seed: UInt64(seed))
        let count = Int.random(in: 1...400, using: &rng)
        let slotCount = Int.random(in: 1...16, using: &rng)
        var tests: [Simulator.Test] = []
        for index in 0..<count {
            let actual = Double.random(in: 0.01...100, using: &rng) * (Bool.random(using: &rng) ? 1 : 0.05)
            tests.append(.init(name: "t\(index)", estimate: actual, actual: actual))
        }
        for policy in Self.policies {
            let result = Simulator.run(tests: tests, slots: slotCount, policy: policy)
            let total = tests.reduce(0) { $0 + $1.actual }
            var batchLength: [Int: Double] = [:]
            for p in result.placements { batchLength[p.batch, default: 0] += p.end - p.start }
            let longestBatch = batchLength.values.max() ?? 0
            #expect(result.makespan >= result.lowerBound - 1e-9)
            // List scheduling: the last batch started while every slot was busy.
            #expect(result.makespan <= total / Double(slotCount) + longestBatch + 1e-9)
            #expect(result.placements.count == count)
            #expect(Set(result.placements.map(\.name)).count == count)
        }
    }

    @Test("within 5% of the lower bound on large suites once durations are known", arguments: 0..<20)
    func closeToBound(seed: Int) {
        var rng = SplitMix64(seed: UInt64(1000 + seed))
        let slotCount = [2, 4, 8, 16][seed % 4]
        let durations = skewedDurations(count: 60 * slotCount, using: &rng)
        let tests = durations.map { Simulator.Test(name: $0.key, estimate: $0.value, actual: $0.value) }
        let result = Simulator.run(tests: tests, slots: slotCount, policy: BatchPolicy(maxTests: 100, minSeconds: 1))
        #expect(result.makespan <= 1.05 * result.lowerBound, "makespan \(result.makespan) lb \(result.lowerBound) slots \(slotCount)")
    }

    @Test("beats the static round-robin split on skewed suites", arguments: 0..<10)
    func beatsStaticSplit(seed: Int) {
        var rng = SplitMix64(seed: UInt64(2000 + seed))
        let durations = skewedDurations(count: 200, using: &rng)
        let tests = durations.map { Simulator.Test(name: $0.key, estimate: $0.value, actual: $0.value) }
        let dynamic = Simulator.run(tests: tests, slots: 4, policy: BatchPolicy(maxTests: 100, minSeconds: 1)).makespan
        #expect(dynamic <= Makespan.staticSplit(durations: durations, shards: 4))
    }

    @Test("lower bound is max(longest, total/slots)")
    func lowerBound() {
        #expect(Makespan.lowerBound(durations: [10, 1, 1], slots: 4) == 10)
        #expect(Makespan.lowerBound(durations: [2, 2, 2, 2], slots: 2) == 4)
        #expect(Makespan.lowerBound(durations: [], slots: 2) == 0)
    }

    @Test("static split deals the sorted names round-robin")
    func staticSplit() {
        let durations = ["a": 5.0, "b": 1, "c": 5, "d": 1]
        // shard 1: a, c = 10; shard 2: b, d = 2
        #expect(Makespan.staticSplit(durations: durations, shards: 2) == 10)
        #expect(Makespan.staticSplit(durations: durations, shards: 2, overhead: 1) == 11)
    }

    @Test("batch overhead is paid per batch")
    func overhead() {
        let tests = (0..<10).map { Simulator.Test(name: "t\($0)", estimate: 1, actual: 1) }
        let result = Simulator.run(tests: tests, slots: 1, policy: .singleTest, batchOverhead: 0.5)
        #expect(result.batches == 10)
        #expect(abs(result.makespan - 15) < 1e-9)
    }
}
