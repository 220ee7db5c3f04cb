import Foundation
import Testing
@testable import Scheduling

/// Every test is accounted for when a run is stopped, loses its slots or
/// quarantines a broken one.
@Suite("Fault accounting")
struct FaultAccountingTests {
    @Test("stop: queued tests and in-flight tests without a result are not run; finished results are kept")
    func stopKeepsWhatFinished() {
        let s = slots(2)
        var queue = TestQueue(tests: ["a": 5, "b": 4, "c": 3, "d": 2], slots: s, policy: .singleTest, retryFailed: 1)
        _ = queue.next(for: s[0])  // a
        _ = queue.next(for: s[1])  // b
        _ = queue.record(attempt("a", .passed, on: s[0]))
        _ = queue.finishBatch(on: s[0])
        let stopped = queue.stop(reason: "interrupted")
        #expect(Set(stopped.map(\.name)) == ["c", "d"])
        #expect(queue.next(for: s[0]) == .done)
        // The cancelled test's failure is final (no retry after a stop); one that never reports is not run.
        let decided = queue.finishBatch(on: s[1], reason: "interrupted")
        #expect(decided.map(\.verdict) == [.notRun])
        #expect(queue.isFinished)
        let verdicts = Dictionary(uniqueKeysWithValues: queue.outcomes.map { ($0.name, $0.verdict) })
        #expect(verdicts == ["a": .passed, "b": .notRun, "c": .notRun, "d": .notRun])
        #expect(queue.outcomes.allSatisfy { !$0.verdict.isFailure })
    }

    @Test("stop: a failure reported after the stop is not retried")
    func noRetryAfterStop() {
        let s = slots(2)
        var queue = TestQueue(tests: ["a": 1], slots: s, policy: .singleTest, retryFailed: 3)
        _ = queue.next(for: s[0])
        _ = queue.stop(reason: "interrupted")
        guard case .final(let outcome) = queue.record(attempt("a", .failed, on: s[0])) else {
            Issue.record("expected a final outcome")
            return
        }
        #expect(outcome.verdict == .failed)
        #expect(queue.isFinished == false)
        _ = queue.finishBatch(on: s[0])
        #expect(queue.isFinished)
    }

    @Test("a test lost with the last slot is not run; lost a second time it is an error")
    func lostWithLastSlot() {
        let s = slots(2)
        var queue = TestQueue(tests: ["a": 2, "b": 1], slots: s, policy: .singleTest)
        _ = queue.next(for: s[0])  // a
        _ = queue.next(for: s[1])  // b
        #expect(queue.slotLost(s[0], reason: "gone").isEmpty)  // a back in the queue
        let decided = queue.slotLost(s[1], reason: "gone too")
        let verdicts = Dictionary(uniqueKeysWithValues: decided.map { ($0.name, $0.verdict) })
        #expect(verdicts == ["a": .notRun, "b": .notRun])
        #expect(queue.isFinished)
    }

    @Test("SlotHealth: three fast failures in a row while another slot is healthy")
    func healthStreak() {
        let s = slots(2)
        var health = SlotHealth()
        #expect(health.observe(attempt("ok", .passed, on: s[1], for: 2), estimate: 2, live: s).isEmpty)
        for (index, name) in ["x", "y"].enumerated() {
            #expect(health.observe(attempt(name, .failed, on: s[0], for: 0.01), estimate: 5, live: s).isEmpty, "failure \(index)")
        }
        let broken = health.observe(attempt("z", .failed, on: s[0], for: 0.01), estimate: 5, live: s)
        #expect(broken.map(\.slot) == [s[0]])
        #expect(broken.first?.streak.map(\.name) == ["x", "y", "z"])
    }

    @Test("SlotHealth: a streak that ran before any slot was healthy is caught by the first healthy result")
    func healthLateComparison() {
        let s = slots(2)
        var health = SlotHealth()
        for name in ["x", "y", "z", "w"] {
            #expect(health.observe(attempt(name, .failed, on: s[0], for: 0.01), estimate: 5, live: s).isEmpty)
        }
        let broken = health.observe(attempt("ok", .passed, on: s[1], for: 5), estimate: 5, live: s)
        #expect(broken.map(\.slot) == [s[0]])
        #expect(broken.first?.streak.count == 4)
    }

    @Test("SlotHealth: slow failures, passes and short tests end or never start a streak")
    func healthResets() {
        let s = slots(2)
        var health = SlotHealth()
        _ = health.observe(attempt("ok", .passed, on: s[1], for: 2), estimate: 2, live: s)
        _ = health.observe(attempt("x", .failed, on: s[0], for: 0.01), estimate: 5, live: s)
        _ = health.observe(attempt("y", .failed, on: s[0], for: 0.01), estimate: 5, live: s)
        // A failure that took its usual time: the test, not the slot.
        #expect(health.observe(attempt("slow", .failed, on: s[0], for: 4), estimate: 5, live: s).isEmpty)
        _ = health.observe(attempt("x2", .failed, on: s[0], for: 0.01), estimate: 5, live: s)
        _ = health.observe(attempt("y2", .failed, on: s[0], for: 0.01), estimate: 5, live: s)
        // Too short to tell.
        #expect(health.observe(attempt("tiny", .failed, on: s[0], for: 0.01), estimate: 0.5, live: s).isEmpty)
        #expect(!health.isFast(attempt("tiny", .failed, on: s[0], for: 0.01), estimate: 0.5))
    }

    @Test("SlotHealth: a suite failing fast everywhere quarantines nothing")
    func brokenCommitEverywhere() {
        let s = slots(2)
        var health = SlotHealth()
        for index in 0..<10 {
            let slot = s[index % 2]
            #expect(health.observe(attempt("t\(index)", .failed, on: slot, for: 0.01), estimate: 5, live: s).isEmpty)
        }
    }

    @Test("quarantine: the slot leaves the run and its fast failures re-run elsewhere, not counted as failures")
    func quarantineRequeues() {
        let s = slots(2)
        var tests: [String: Double] = [:]
        for index in 0..<6 { tests["t\(index)"] = 5 }
        var queue = TestQueue(tests: tests, slots: s, policy: .singleTest)
        // Slot 1 is healthy.
        let first = queue.next(for: s[1]).batch!.names[0]
        _ = queue.record(attempt(first, .passed, on: s[1], for: 5))
        _ = queue.finishBatch(on: s[1])
        var broken: [String] = []
        for _ in 0..<3 {
            let name = queue.next(for: s[0]).batch!.names[0]
            broken.append(name)
            _ = queue.record(attempt(name, .failed, on: s[0], for: 0.01, message: "No space left on device"))
            _ = queue.finishBatch(on: s[0])
        }
        #expect(queue.takeQuarantines() == [.init(slot: s[0], undone: broken.map { .init(name: $0, attempt: 1, estimate: 5) })])
        #expect(queue.takeQuarantines().isEmpty)
        #expect(queue.quarantined == [s[0]])
        #expect(queue.next(for: s[0]) == .done)
        #expect(queue.outcomes.map(\.name) == [first], "the undone failures are no outcomes")
        var rerun: [String] = []
        while case .run(let batch) = queue.next(for: s[1]) {
            rerun += batch.names
            for entry in batch.entries { _ = queue.record(attempt(entry.name, .passed, on: s[1], for: 5)) }
            _ = queue.finishBatch(on: s[1])
        }
        #expect(Set(broken).isSubset(of: Set(rerun)))
        #expect(queue.isFinished)
        #expect(queue.outcomes.count == 6)
        #expect(queue.outcomes.allSatisfy { $0.verdict == .passed }, "not flaky: the quarantined attempts do not count")
    }

    @Test("reports: not run is skipped in JUnit with a message, its own count, never a failure")
    func notRunInReports() {
        let s = slots(1)
        let pass = attempt("a", .passed, on: s[0], for: 1)
        let never = TestAttempt(name: "b", attempt: 1, status: .notRun, slot: s[0], start: epoch, end: epoch,
                                message: "interrupted", infrastructure: true)
        let report = RunReport(runID: "r", project: "p", runner: "command", started: epoch, finished: epoch, slots: s,
                               attempts: [pass, never],
                               outcomes: [TestOutcome(name: "a", verdict: .passed, attempts: [pass]),
                                          TestOutcome(name: "b", verdict: .notRun, attempts: [never])],
                               lostTargets: ["ssh://box: unreachable"], interrupted: true)
        #expect(report.failed == 0)
        #expect(report.notRun == 1)
        #expect(report.closingLine == "1 passed, 0 failed, 0 skipped, 1 not run")
        let xml = JUnitWriter.render(report)
        #expect(xml.contains(#"failures="0" errors="0" skipped="1""#))
        #expect(xml.contains(#"<skipped message="not run: interrupted"/>"#))
        let lines = TextSummary.lines(report)
        #expect(lines.contains { $0.hasPrefix("lost targets (1): ssh://box: unreachable") })
        #expect(lines.contains { $0.hasPrefix("1 not run (interrupted)") })
        #expect(HTMLReportWriter.render(report).contains("Lost target: ssh://box: unreachable"))
        var history = DurationHistory()
        history.record(report.attempts)
        #expect(history.known("b") == nil, "a test that never ran has no duration")
    }
}
