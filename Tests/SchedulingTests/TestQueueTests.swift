import Foundation
import Testing
import TestSupport
@testable import Scheduling

@Suite("TestQueue")
struct TestQueueTests {
    @Test("hands out the longest tests first, ties by name")
    func longestFirst() {
        let s = slots(1)
        var queue = TestQueue(tests: ["b": 1, "a": 1, "long": 9, "mid": 3], slots: s, policy: .singleTest)
        var order: [String] = []
        while case .run(let batch) = queue.next(for: s[0]) {
            order += batch.names
            for name in batch.names { _ = queue.record(attempt(name, .passed, on: s[0])) }
            _ = queue.finishBatch(on: s[0])
        }
        #expect(order == ["long", "mid", "a", "b"])
        #expect(queue.isFinished)
        #expect(queue.outcomes.map(\.verdict) == [.passed, .passed, .passed, .passed])
    }

    @Test("batches shrink toward the end of the run")
    func batchesShrink() {
        let s = slots(2)
        var tests: [String: Double] = [:]
        for i in 0..<200 { tests[String(format: "t%03d", i)] = 1 }
        var queue = TestQueue(tests: tests, slots: s, policy: BatchPolicy(maxTests: 100, minSeconds: 2, factor: 2))
        var sizes: [Int] = []
        var turn = 0
        while case .run(let batch) = queue.next(for: s[turn % 2]) {
            sizes.append(batch.entries.count)
            for name in batch.names { _ = queue.record(attempt(name, .passed, on: s[turn % 2])) }
            _ = queue.finishBatch(on: s[turn % 2])
            turn += 1
        }
        #expect(sizes.first == 50)
        #expect((sizes.last ?? 0) <= 2)
        #expect(zip(sizes, sizes.dropFirst()).allSatisfy { $0 >= $1 })
        #expect(sizes.reduce(0, +) == 200)
    }

    @Test("a batch never exceeds maxTests and always holds at least one test")
    func batchLimits() {
        let s = slots(1)
        var queue = TestQueue(tests: ["huge": 1000, "x": 1, "y": 1, "z": 1], slots: s, policy: BatchPolicy(maxTests: 2, minSeconds: 0))
        let first = queue.next(for: s[0]).batch
        #expect(first?.names == ["huge"])
    }

    @Test("tests in flight on a lost slot go back once, then count as errors")
    func requeueOnSlotLoss() {
        let s = slots(3)
        var queue = TestQueue(tests: ["a": 5, "b": 4, "c": 3], slots: s, policy: .singleTest)
        #expect(queue.next(for: s[0]).batch?.names == ["a"])
        #expect(queue.slotLost(s[0], reason: "host died").isEmpty)
        // "a" is back and goes to the next free slot.
        let again = queue.next(for: s[1]).batch
        #expect(again?.names == ["a"])
        #expect(again?.entries.first?.attempt == 2)
        let decided = queue.slotLost(s[1], reason: "host died again")
        #expect(decided.count == 1)
        #expect(decided.first?.verdict == .error)
        #expect(decided.first?.isInfrastructureError == true)
        #expect(decided.first?.last?.message == "host died again")
        // The remaining slot finishes the rest.
        for name in ["b", "c"] {
            let batch = queue.next(for: s[2]).batch
            #expect(batch?.names == [name])
            #expect(queue.record(attempt(name, .passed, on: s[2])) != .unexpected)
            _ = queue.finishBatch(on: s[2])
        }
        #expect(queue.next(for: s[2]) == .done)
        #expect(queue.isFinished)
        #expect(queue.outcomes.count == 3)
    }

    @Test("results streamed before a slot dies are kept")
    func partialBatchKept() {
        let s = slots(2)
        let names = ["a", "b", "c", "d", "e", "f"]
        var queue = TestQueue(tests: Dictionary(uniqueKeysWithValues: names.map { ($0, 1.0) }), slots: s,
                              policy: BatchPolicy(maxTests: 10, minSeconds: 10))
        let batch = queue.next(for: s[0]).batch!
        #expect(batch.names == ["a", "b", "c"])  // a fair share: 6 s of work over 2 slots
        _ = queue.record(attempt("a", .passed, on: s[0]))
        _ = queue.slotLost(s[0], reason: "killed")
        let rest = queue.next(for: s[1]).batch!
        #expect(rest.names.sorted() == ["b", "c", "d", "e", "f"])
        for name in rest.names { _ = queue.record(attempt(name, .passed, on: s[1])) }
        _ = queue.finishBatch(on: s[1])
        #expect(queue.isFinished)
        #expect(queue.outcomes.map(\.name).sorted() == names)
        #expect(queue.outcomes.allSatisfy { $0.verdict == .passed })
    }

    @Test("when the last slot dies, everything left is not run, not a failure")
    func lastSlotLost() {
        let s = slots(1)
        var queue = TestQueue(tests: ["a": 2, "b": 1], slots: s, policy: .singleTest)
        _ = queue.next(for: s[0])
        let decided = queue.slotLost(s[0], reason: "gone")
        #expect(Set(decided.map(\.name)) == ["a", "b"])
        #expect(decided.allSatisfy { $0.verdict == .notRun && !$0.verdict.isFailure && !$0.isInfrastructureError })
        #expect(decided.first { $0.name == "b" }?.last?.message == "no slot left to run it (gone)")
        #expect(queue.isFinished)
    }

    @Test("a batch that ends without a result re-queues the missing tests once")
    func missingResults() {
        let s = slots(1)
        var queue = TestQueue(tests: ["a": 1], slots: s, policy: .singleTest)
        _ = queue.next(for: s[0])
        #expect(queue.finishBatch(on: s[0]).isEmpty)
        _ = queue.next(for: s[0])
        let decided = queue.finishBatch(on: s[0], reason: "runner reported no result")
        #expect(decided.first?.verdict == .error)
        #expect(decided.first?.attempts.count == 1)
    }

    @Test("failures are retried on another slot; fail then pass is flaky")
    func retryOnAnotherSlot() {
        let s = slots(2)
        var queue = TestQueue(tests: ["flaky": 2, "solid": 1], slots: s, policy: .singleTest, retryFailed: 1)
        #expect(queue.next(for: s[0]).batch?.names == ["flaky"])
        #expect(queue.record(attempt("flaky", .failed, on: s[0])) == .willRetry)
        _ = queue.finishBatch(on: s[0])
        // Slot 0 must not get the retry while slot 1 is alive: it gets "solid".
        #expect(queue.next(for: s[0]).batch?.names == ["solid"])
        let retry = queue.next(for: s[1]).batch
        #expect(retry?.names == ["flaky"])
        #expect(retry?.entries.first?.attempt == 2)
        guard case .final(let outcome) = queue.record(attempt("flaky", .passed, on: s[1])) else {
            Issue.record("expected a final outcome")
            return
        }
        #expect(outcome.verdict == .flaky)
        #expect(outcome.attempts.map(\.attempt) == [1, 2])
    }

    @Test("a retry waits for another slot rather than reusing the one it failed on")
    func retryWaits() {
        let s = slots(2)
        var queue = TestQueue(tests: ["x": 2, "y": 1], slots: s, policy: .singleTest, retryFailed: 1)
        _ = queue.next(for: s[0])  // x
        _ = queue.next(for: s[1])  // y (slot 1 busy)
        #expect(queue.record(attempt("x", .failed, on: s[0])) == .willRetry)
        _ = queue.finishBatch(on: s[0])
        #expect(queue.next(for: s[0]) == .wait)
        // When slot 1 dies, slot 0 is the only one left and takes the retry.
        _ = queue.slotLost(s[1], reason: "gone")
        let names = queue.next(for: s[0]).batch?.names ?? []
        #expect(Set(names).isSubset(of: ["x", "y"]) && !names.isEmpty)
    }

    @Test("a test that keeps failing is a failure after retryFailed retries")
    func retriesExhausted() {
        let s = slots(1)
        var queue = TestQueue(tests: ["bad": 1], slots: s, policy: .singleTest, retryFailed: 2)
        var results: [TestQueue.RecordResult] = []
        while case .run(let batch) = queue.next(for: s[0]) {
            results.append(queue.record(attempt(batch.names[0], .failed, on: s[0])))
            _ = queue.finishBatch(on: s[0])
        }
        #expect(results.count == 3)
        #expect(queue.outcomes.first?.verdict == .failed)
    }

    @Test("results for tests not in flight on that slot are ignored")
    func unexpectedResult() {
        let s = slots(2)
        var queue = TestQueue(tests: ["a": 1], slots: s, policy: .singleTest)
        _ = queue.next(for: s[0])
        #expect(queue.record(attempt("a", .passed, on: s[1])) == .unexpected)
        #expect(queue.record(attempt("zzz", .passed, on: s[0])) == .unexpected)
    }

    @Test("same inputs, same plan")
    func deterministic() {
        var rng = SplitMix64(seed: 7)
        var tests = skewedDurations(count: 300, using: &rng)
        for i in 0..<40 { tests["tie-\(i)"] = 1.5 }
        let policy = BatchPolicy(maxTests: 50, minSeconds: 2)
        let first = Simulator.run(tests: tests.map { .init(name: $0.key, estimate: $0.value, actual: $0.value) }, slots: 4, policy: policy)
        let second = Simulator.run(tests: tests.reversed().map { .init(name: $0.key, estimate: $0.value, actual: $0.value) }, slots: 4, policy: policy)
        #expect(first.placements == second.placements)
    }

    @Test("the ETA covers the queued work spread over the slots")
    func eta() {
        let s = slots(2)
        var queue = TestQueue(tests: ["a": 4, "b": 4, "c": 2, "d": 2], slots: s, policy: .singleTest)
        #expect(queue.estimatedRemaining(now: 0) == 6)
        _ = queue.next(for: s[0], now: 0)
        #expect(queue.estimatedRemaining(now: 1) == 6)
    }
}
